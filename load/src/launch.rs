//! Launch manifests for a sharded throughput run past one machine: one ECS Fargate
//! `RunTask` input per shard (`aws ecs run-task --cli-input-json file://…`) and one
//! Kubernetes Indexed Job whose pods run shard `JOB_COMPLETION_INDEX + 1`. Every shard
//! writes its metrics under `/results` (an EFS volume on ECS, a ReadWriteMany claim on
//! Kubernetes: the placeholders say which); `shakedown-load merge /results` judges the
//! whole once they are all done.

use std::path::{Path, PathBuf};

use serde_json::json;

/// Where the shards write, inside the container.
pub const RESULTS: &str = "/results";

/// What every shard runs, and on what.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The container image holding `shakedown-load` and the fixtures.
    pub image: String,
    /// Shards.
    pub count: u32,
    /// `shakedown-load` arguments common to every shard (profile first), without
    /// `--shard` and `--report`.
    pub args: Vec<String>,
    /// The profile (`--env`), for names and tags.
    pub env: String,
    /// `slo`, `spike`, `soak`.
    pub profile: String,
}

impl Launch {
    fn name(&self) -> String {
        format!("shakedown-load-{}-{}", self.profile, self.env)
    }

    fn shard_args(&self, shard: &str) -> Vec<String> {
        let mut a = vec!["shakedown-load".to_owned()];
        a.extend(self.args.iter().cloned());
        a.extend([
            "--shard".to_owned(),
            shard.to_owned(),
            "--report".to_owned(),
            RESULTS.to_owned(),
        ]);
        a
    }

    /// The `RunTask` input of shard `index` (1-based).
    pub fn ecs_run_task(&self, index: u32) -> serde_json::Value {
        json!({
            "cluster": "REPLACE-cluster",
            "taskDefinition": "shakedown-load",
            "launchType": "FARGATE",
            "count": 1,
            "startedBy": "shakedown",
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": ["REPLACE-subnet"],
                    "securityGroups": ["REPLACE-security-group"],
                    "assignPublicIp": "DISABLED"
                }
            },
            "overrides": {
                "containerOverrides": [{
                    "name": "shakedown-load",
                    "command": self.shard_args(&format!("{index}/{}", self.count)),
                }]
            },
            "tags": [
                {"key": "shakedown:run", "value": self.name()},
                {"key": "shakedown:shard", "value": format!("{index}/{}", self.count)}
            ],
            "propagateTags": "TASK_DEFINITION"
        })
    }

    /// The Kubernetes Indexed Job running every shard at once.
    pub fn k8s_indexed_job(&self) -> String {
        let quoted: Vec<String> = self.args.iter().map(|a| shell_quote(a)).collect();
        format!(
            r#"# {name}: {count} shards of `shakedown-load {args}`, one pod each.
# Pod k runs shard k+1 of {count}; every shard writes its metrics to {results}, a
# ReadWriteMany claim; judge them with `shakedown-load merge {results}` once the Job completes.
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
  labels:
    app.kubernetes.io/managed-by: shakedown
spec:
  completionMode: Indexed
  completions: {count}
  parallelism: {count}
  backoffLimit: 0
  template:
    metadata:
      labels:
        app.kubernetes.io/managed-by: shakedown
    spec:
      restartPolicy: Never
      containers:
        - name: shakedown-load
          image: {image}
          command: ["/bin/sh", "-c"]
          args:
            - exec shakedown-load {args_q} --shard "$((JOB_COMPLETION_INDEX + 1))/{count}" --report {results}
          volumeMounts:
            - name: results
              mountPath: {results}
      volumes:
        - name: results
          persistentVolumeClaim:
            claimName: REPLACE-results-claim
"#,
            name = self.name(),
            count = self.count,
            args = self.args.join(" "),
            args_q = quoted.join(" "),
            image = self.image,
            results = RESULTS,
        )
    }

    /// Write every manifest into `dir`; returns the paths written.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut written = Vec::new();
        let mut put = |name: String, text: String| -> Result<(), String> {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            written.push(path);
            Ok(())
        };
        for i in 1..=self.count {
            let text =
                serde_json::to_string_pretty(&self.ecs_run_task(i)).map_err(|e| e.to_string())?;
            put(format!("ecs-run-task-{i}-of-{}.json", self.count), text)?;
        }
        put("k8s-indexed-job.yaml".to_owned(), self.k8s_indexed_job())?;
        Ok(written)
    }
}

/// `s` as one POSIX shell word.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch() -> Launch {
        Launch {
            image: "registry.example/shakedown:1".into(),
            count: 3,
            args: ["slo", "--env", "site-builder-sit", "--rate", "300"]
                .map(str::to_owned)
                .to_vec(),
            env: "site-builder-sit".into(),
            profile: "slo".into(),
        }
    }

    #[test]
    fn each_ecs_task_runs_its_own_shard() {
        let l = launch();
        for i in 1..=3 {
            let task = l.ecs_run_task(i);
            let command: Vec<&str> = task["overrides"]["containerOverrides"][0]["command"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            let shard = format!("{i}/3");
            assert_eq!(
                command,
                [
                    "shakedown-load",
                    "slo",
                    "--env",
                    "site-builder-sit",
                    "--rate",
                    "300",
                    "--shard",
                    &shard,
                    "--report",
                    "/results"
                ]
            );
            assert_eq!(task["launchType"], "FARGATE");
        }
    }

    #[test]
    fn the_indexed_job_maps_pod_indices_to_shards() {
        let job = launch().k8s_indexed_job();
        assert!(job.contains("completionMode: Indexed"));
        assert!(job.contains("completions: 3") && job.contains("parallelism: 3"));
        assert!(job.contains(r#"--shard "$((JOB_COMPLETION_INDEX + 1))/3""#));
        assert!(job.contains("exec shakedown-load slo --env site-builder-sit --rate 300"));
        assert_eq!(shell_quote("a b'c"), r"'a b'\''c'");
        assert_eq!(shell_quote("--rate"), "--rate");
    }
}
