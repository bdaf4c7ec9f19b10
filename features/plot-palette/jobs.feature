# Seed 000, Task 1 (user guide: templates, jobs, cancel) and Task 2 (API: job and template
# endpoints), Task 3 (architecture: budget enforcement).
Feature: Plot Palette jobs and templates
  A user writes a prompt template, uploads seed data, and runs generation jobs against a
  budget; a job can be cancelled while it runs. Each scenario works as its own new user
  (so its requests spend that user's rate limit, not the test user's) on its own template,
  seed file and job; the after-hook deletes the jobs it made, then the user.

  Background:
    When I create a user with a permanent password as the runbook describes
    Then that user can sign in
    When I send POST "/templates" as that user with the JSON body:
      """
      {"name": "shakedown jobs", "template": "Describe {{ name }}.", "fields": ["description"]}
      """
    Then the response status is 201
    And I save the response JSON at "/template_id" as "template"
    When I send POST "/seed-data" as that user with the text/csv body:
      """
      name
      Ada
      Grace
      """
    Then the response status is 201
    And I save the response JSON at "/key" as "seed"

  @mutating @claim(000-api-2.4-templates)
  Scenario: Templates are created, listed, updated and tested
    When I send POST "/templates" as that user with the JSON body:
      """
      {"name": "shakedown template", "template": "Describe {{ name }}.", "fields": ["description"]}
      """
    Then the response status is 201
    And I save the response JSON at "/template_id" as "template"
    When I send GET "/templates" as that user
    Then the response JSON at "/templates" has an item where:
      | /template_id | is | {template}         |
      | /name        | is | shakedown template |
    When I send PUT "/templates/{template}" as that user with the JSON body:
      """
      {"name": "shakedown template v2", "template": "Describe {{ name }} from {{ city }}.", "fields": ["description"]}
      """
    Then the response status is 200
    When I send GET "/templates/{template}" as that user
    Then the response JSON at "/name" is "shakedown template v2"
    And the response JSON at "/template" is "Describe {{ name }} from {{ city }}."
    When I send POST "/templates/{template}/test" as that user with the JSON body:
      """
      {"row": {"name": "Ada", "city": "London"}}
      """
    Then the response status is 200
    And the response JSON at "/rendered" is "Describe Ada from London."

  # Task 1 §3: templates use Jinja2 syntax — variables from the seed row, filters
  # (capitalize, the custom pluralize) and conditionals. The expected texts are what Jinja2
  # 3.1 renders for this template with pluralize defined as Django's.
  @mutating @claim(000-user-1.3-templates)
  Scenario: Templates render seed rows with Jinja2 variables, filters and conditionals
    When I send POST "/templates" as that user with the JSON body:
      """
      {"name": "shakedown jinja", "template": "{{ name | capitalize }} reviews {{ count }} lamp{{ count | pluralize }}{% if premium == \"yes\" %} as a premium member{% endif %}.", "fields": ["review"]}
      """
    Then the response status is 201
    And I save the response JSON at "/template_id" as "jinja"
    When I send POST "/templates/{jinja}/test" as that user with the JSON body:
      """
      {"row": {"name": "ada", "count": "3", "premium": "yes"}}
      """
    Then the response status is 200
    And the response JSON at "/rendered" is "Ada reviews 3 lamps as a premium member."
    When I send POST "/templates/{jinja}/test" as that user with the JSON body:
      """
      {"row": {"name": "GRACE", "count": "1", "premium": "no"}}
      """
    Then the response status is 200
    And the response JSON at "/rendered" is "Grace reviews 1 lamp."

  @mutating @claim(000-api-2.3-jobs)
  Scenario: Jobs are created, listed, read, and deleted
    When I send POST "/jobs" as that user with the JSON body:
      """
      {"template_id": "{template}", "seed_data_key": "{seed}", "num_records": 50, "budget_limit": 1.0}
      """
    Then the response status is 201
    And I save the response JSON at "/job_id" as "job"
    And the after-hook deletes "/jobs/{job}" as that user
    When I send GET "/jobs" as that user
    Then the response JSON at "/jobs" has an item where:
      | /job_id      | is | {job}      |
      | /template_id | is | {template} |
      | /num_records | is | 50         |
    When I send GET "/jobs/{job}" as that user
    Then the response JSON at "/seed_data_key" is "{seed}"
    And within 90 s, GET "/jobs/{job}" as that user has "/status" equal to "COMPLETED"
    When I send DELETE "/jobs/{job}" as that user
    Then the response status is 204
    When I send GET "/jobs/{job}" as that user
    Then the response status is 404

  # Task 1 §5: multi-format export. The seed names no formats; the API offers JSON lines (the
  # stored export), CSV and one JSON array, each with every record of the job.
  @mutating @claim(000-user-1.5-export-formats)
  Scenario Outline: A completed job exports as <format>
    When I send POST "/jobs" as that user with the JSON body:
      """
      {"template_id": "{template}", "seed_data_key": "{seed}", "num_records": 20, "budget_limit": 1.0}
      """
    Then the response status is 201
    And I save the response JSON at "/job_id" as "job"
    And the after-hook deletes "/jobs/{job}" as that user
    And within 90 s, GET "/jobs/{job}" as that user has "/status" equal to "COMPLETED"
    When I send GET "/jobs/{job}/export?format=<format>" as that user
    Then the response status is 200
    And the response header "content-type" is "<content type>"
    And the response body is <shape> of 20 records, each with "row, description"

    Examples:
      | format | content type             | shape        |
      | jsonl  | application/x-ndjson     | JSON lines   |
      | csv    | text/csv; charset=utf-8  | CSV          |
      | json   | application/json         | a JSON array |

  @mutating @claim(000-user-1.5-cancel)
  Scenario: A running job is cancelled and stops generating
    When I send POST "/jobs" as that user with the JSON body:
      """
      {"template_id": "{template}", "seed_data_key": "{seed}", "num_records": 1000, "budget_limit": 10.0}
      """
    Then the response status is 201
    And I save the response JSON at "/job_id" as "job"
    And the after-hook deletes "/jobs/{job}" as that user
    And within 90 s, GET "/jobs/{job}" as that user has "/records_generated" other than "0"
    When I send DELETE "/jobs/{job}" as that user
    Then the response JSON at "/status" is "CANCELLED"
    And within 5 s, GET "/jobs/{job}" as that user has "/status" equal to "CANCELLED"
    And "/records_generated" of GET "/jobs/{job}" as that user stays the same for 3 s

  @mutating @claim(000-arch-3.4-budget)
  Scenario: A job whose estimated cost exceeds its budget is refused; a job's cost stays within it
    When I send POST "/jobs" as that user with the JSON body:
      """
      {"template_id": "{template}", "seed_data_key": "{seed}", "num_records": 600, "budget_limit": 1.0}
      """
    Then the response is 400 with error code "BUDGET_EXCEEDED"
    When I send POST "/jobs" as that user with the JSON body:
      """
      {"template_id": "{template}", "seed_data_key": "{seed}", "num_records": 100, "budget_limit": 0.2}
      """
    Then the response status is 201
    And I save the response JSON at "/job_id" as "job"
    And the after-hook deletes "/jobs/{job}" as that user
    And within 90 s, GET "/jobs/{job}" as that user has "/status" equal to "COMPLETED"
    And the response JSON at "/cost" is at most the one at "/budget_limit"

  # Task 3 §4, spot interruption handling: ECS stops the worker's task as a Spot reclaim does
  # (StopTask; the ECS agent sends SIGTERM), the worker checkpoints and hands the job back,
  # another task resumes it from the checkpoint — never from fewer records — and completes it
  # with every record; the service replaces the stopped task. Locally the worker's own agent
  # loop turns StopTask into SIGTERM and the stack's service stand-in starts the replacement.
  # The same interruption injected as a game day does, with FIS (aws:ecs:stop-task), is
  # applied locally by the reference services' fault plane.
  @destructive @serial @claim(000-arch-3.4-spot)
  Scenario Outline: A worker's job interrupted by <interruption> is resumed by another task and completes with every record
    When I send POST "/jobs" as that user with the JSON body:
      """
      {"template_id": "{template}", "seed_data_key": "{seed}", "num_records": 1000, "budget_limit": 10.0}
      """
    Then the response status is 201
    And I save the response JSON at "/job_id" as "job"
    And the after-hook deletes "/jobs/{job}" as that user
    And within 90 s, GET "/jobs/{job}" as that user has "/records_generated" other than "0"
    When I send GET "/jobs/{job}" as that user
    Then I save the response JSON at "/worker_task_arn" as "task"
    And I save the response JSON at "/records_generated" as "done"
    When <stop>
    Then within 15 s, GET "/jobs/{job}" as that user has "/worker_task_arn" other than "{task}"
    And the response JSON at "/records_generated" is at least "{done}"
    And within 120 s, GET "/jobs/{job}" as that user has "/status" equal to "COMPLETED"
    When I send GET "/jobs/{job}/export?format=jsonl" as that user
    Then the response status is 200
    And the response body is JSON lines of 1000 records, each with "row, description"
    And within 30 s, the task "{task}" is STOPPED and its cluster runs the documented number of worker tasks again

    Examples:
      | interruption                 | stop                                                        |
      | a Spot interruption          | ECS stops the task "{task}" as a Spot interruption does     |
      | an FIS aws:ecs:stop-task     | an FIS experiment stops the task "{task}"                   |
