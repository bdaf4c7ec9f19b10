# Seed 004, Monitoring Guide and Configuration Files: Prometheus scrapes the application,
# 30+ custom metrics, alert rules (alerts.yml), AlertManager routing (alertmanager.yml).
# The seed names no job, metric, rule group or receiver: the names below are the
# deployment's (locally: fixtures/stack/src/monitoring.rs and the Sergas service's metrics).
Feature: Sergas monitoring

  @readonly @gate @claim(004-monitoring-prometheus)
  Scenario: Prometheus scrapes the application and every target is up
    Then Prometheus scrapes the job "sergas-api" and every one of its targets is up

  @readonly @gate @claim(004-monitoring-metrics)
  Scenario: The application exposes its 30+ custom metrics and Prometheus stores each
    Then the application's "/metrics" exposes at least 30 metric families besides the runtime's, and Prometheus holds series of each under the job "sergas-api"

  @readonly @gate @claim(004-monitoring-alert-rules)
  Scenario: The alert rules load, evaluate without error and none fires on a healthy system
    Then Prometheus has loaded the alert rule groups "sergas-availability, sergas-latency, sergas-security", every rule evaluates without error and none is firing

  # Sends a real (labelled, self-resolving) alert to the on-call receiver: not on prod
  # without the override.
  @mutating @claim(004-monitoring-alertmanager)
  Scenario: A test alert is routed to the on-call receiver and delivered
    Then a test alert sent to Alertmanager is routed to the receiver "sergas-oncall" and delivered within 30 s
