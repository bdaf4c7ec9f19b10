# Seed 004, Operations Manual and Troubleshooting Guide: the scripts an operator runs. The
# profile's `ops` names them (locally the reference scripts in fixtures/ops/sergas/); the
# harness gives them the components' addresses from the profile. That a script is
# scheduled, and when it last ran, is not visible from here: the seed names no scheduler.
Feature: Sergas operations scripts

  # "Quick diagnostics: 2-minute initial assessment": every component's status, within
  # two minutes, exit 0 on a healthy system.
  @readonly @gate @claim(004-troubleshoot-quick-diagnostic)
  Scenario: The quick diagnostic assesses every component within two minutes
    When I run the operations script "quick-diagnostic"
    Then the script exits 0 within 2 minutes, reporting "api, database, redis, prometheus, alertmanager" ok

  # "Daily health check script: automated system verification": exit 0 when healthy, and
  # non-zero, naming it, when a dependency is down (here: pointed at a closed port).
  @readonly @claim(004-ops-daily-health)
  Scenario Outline: The daily health check passes when healthy and fails with <component> down
    When I run the operations script "daily-health-check"
    Then the script exits 0 within 2 minutes, reporting "api, database, redis, prometheus, alertmanager, backups" ok
    When I run the operations script "daily-health-check" with "<component>" unreachable
    Then the script exits non-zero, reporting "<component>" down

    Examples:
      | component |
      | database  |
      | redis     |

  # "DR testing schedule: monthly validation (dr-test.sh)": run on demand, the drill restores
  # the newest backup into a scratch server and finds the accounts in it (well inside the
  # 15-minute RTO). Its schedule and last run are not visible from here.
  @mutating @claim(004-dr-test)
  Scenario: The DR test passes on demand
    When I run the operations script "dr-test"
    Then the script exits 0 within 15 minutes, reporting "restore, accounts" ok
