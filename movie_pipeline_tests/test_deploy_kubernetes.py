"""deploy/ for Kubernetes: the Helm values pass the official chart's schema, the instance they imply loads in Dagster
(K8sRunLauncher, dagster-postgres storage, the run queue), and the Dockerfile's install steps give a working code
location in a fresh virtualenv."""

import copy
import json
import shlex
import shutil
import subprocess
import venv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import jsonschema  # type: ignore[import-untyped]  # no stubs in the lock; used by this test alone
import pytest
import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config
from dagster._serdes.config_class import ConfigurableClassData, class_from_code_pointer
from sqlalchemy.engine import make_url

from movie_pipeline.settings import REPO_ROOT

HELM = REPO_ROOT / "deploy" / "helm"
DOCKERFILE = REPO_ROOT / "deploy" / "Dockerfile"
K8S_SCHEMAS = "https://kubernetesjsonschema.dev/"


def chart_schema() -> dict[str, Any]:
    return json.loads((HELM / "values.schema.json").read_text())


def helm_values() -> dict[str, Any]:
    return yaml.safe_load((HELM / "values.yaml").read_text())


def _as_override(node: Any, *, in_list: bool) -> Any:
    """The chart schema as it applies to an override file rather than to the merged values.

    Helm merges an override file's maps into the chart's defaults, which supply every required key we leave out,
    but replaces lists whole: so `required` holds inside list items and is dropped elsewhere. Kubernetes' own
    schemas (remote refs) are not bundled; kubectl checks those objects.
    """
    if isinstance(node, list):
        return [_as_override(item, in_list=in_list) for item in node]
    if not isinstance(node, dict):
        return node
    relaxed: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and value.startswith(K8S_SCHEMAS):
            continue
        if key == "$ref" and not in_list:
            relaxed[key] = value.replace("#/definitions/", "#/merged/")
        elif key == "required" and not in_list and isinstance(value, list):
            continue
        else:
            relaxed[key] = _as_override(value, in_list=in_list or key == "items")
    return relaxed


def override_validator() -> jsonschema.Draft7Validator:
    schema = chart_schema()
    definitions = schema.pop("definitions")
    override_schema = {
        **_as_override(schema, in_list=False),
        "definitions": _as_override(definitions, in_list=True),
        "merged": _as_override(definitions, in_list=False),
    }
    return jsonschema.Draft7Validator(override_schema)


def schema_errors(values: Mapping[str, Any]) -> list[str]:
    unknown = sorted(set(values) - set(chart_schema()["properties"]))
    errors = [f"unknown top-level key {key!r}" for key in unknown]
    for error in override_validator().iter_errors(values):
        errors.append(f"{'/'.join(map(str, error.absolute_path))}: {error.message}")
    return errors


def implied_instance_config(values: Mapping[str, Any], release: str = "dagster") -> dict[str, Any]:
    """The dagster.yaml the chart renders into its instance ConfigMap, for the keys our values set."""
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    postgres = values["postgresql"]
    daemon = values["dagsterDaemon"]
    queue = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    monitoring, retries = daemon["runMonitoring"], daemon["runRetries"]
    return {
        "run_launcher": {
            "module": "dagster_k8s",
            "class": "K8sRunLauncher",
            "config": {
                "load_incluster_config": launcher["loadInclusterConfig"],
                "image_pull_policy": launcher["imagePullPolicy"],
                "job_namespace": "default",
                "service_account_name": release,
                "instance_config_map": f"{release}-instance",
                "postgres_password_secret": "dagster-postgresql-secret",
                "dagster_home": "/opt/dagster/dagster_home",
                "env_config_maps": [source["name"] for source in launcher["envConfigMaps"]],
                "env_secrets": [source["name"] for source in launcher["envSecrets"]],
                "env_vars": launcher["envVars"],
                "volume_mounts": launcher["volumeMounts"],
                "volumes": launcher["volumes"],
            },
        },
        "storage": {
            "postgres": {
                "postgres_db": {
                    "hostname": postgres["postgresqlHost"],
                    "port": postgres["service"]["port"],
                    "username": postgres["postgresqlUsername"],
                    "password": {"env": "DAGSTER_PG_PASSWORD"},
                    "db_name": postgres["postgresqlDatabase"],
                    "params": postgres["postgresqlParams"],
                }
            }
        },
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {
                "max_concurrent_runs": queue["maxConcurrentRuns"],
                "tag_concurrency_limits": queue["tagConcurrencyLimits"],
            },
        },
        "run_monitoring": {
            "enabled": monitoring["enabled"],
            "poll_interval_seconds": monitoring["pollIntervalSeconds"],
            "start_timeout_seconds": monitoring["startTimeoutSeconds"],
            "max_resume_run_attempts": monitoring["maxResumeRunAttempts"],
        },
        "run_retries": {
            "enabled": retries["enabled"],
            "max_retries": retries["maxRetries"],
            "retry_on_asset_or_op_failure": retries["retryOnAssetOrOpFailure"],
        },
        "telemetry": {"enabled": values["telemetry"]["enabled"]},
    }


def instance_config_errors(home: Path) -> list[str]:
    """Dagster's own validation of an instance: the file (storage included), then the launcher's and the run queue's
    own config, which Dagster otherwise checks only when it builds them (for the launcher, inside the cluster)."""
    try:
        config, _ = dagster_instance_config(str(home))
    except dg.DagsterInvalidConfigError as error:
        return [str(error)]
    configured = []
    for key in ("run_launcher", "run_coordinator"):
        data = ConfigurableClassData(config[key]["module"], config[key]["class"], "{}")  # maps dagster.core.*
        configured.append((class_from_code_pointer(data.module_name, data.class_name), config[key]["config"]))
    errors = []
    for configurable, class_config in configured:
        result = process_config(configurable.config_type(), class_config)  # type: ignore[attr-defined]
        errors += [f"{configurable.__name__}: {error.message}" for error in result.errors or []]
    return errors


def test_the_helm_values_pass_the_charts_schema():
    assert schema_errors(helm_values()) == []


@pytest.mark.parametrize(
    ("mistake", "path"),
    [
        (lambda v: v["runLauncher"]["config"]["k8sRunLauncher"].update(imagePullPolicy="Sometimes"), "imagePullPolicy"),
        (lambda v: v["dagster-user-deployments"]["deployments"][0].pop("port"), "deployments/0"),
        (lambda v: v["dagsterDaemon"]["runCoordinator"].update(limit=4), "runCoordinator"),
        (lambda v: v.update(runLauncherr={}), "runLauncherr"),
    ],
    ids=["bad enum", "list item missing a required key", "unknown key", "unknown top-level key"],
)
def test_the_schema_check_catches_what_helm_would_refuse(mistake, path):
    values = copy.deepcopy(helm_values())
    mistake(values)
    errors = schema_errors(values)
    assert errors and any(path in error for error in errors), errors


def test_the_helm_values_keep_the_run_queue_limits_of_deploy_dagster_yaml():
    local = yaml.safe_load((REPO_ROOT / "deploy" / "dagster.yaml").read_text())["concurrency"]["runs"]
    queue = helm_values()["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queue["maxConcurrentRuns"] == local["max_concurrent_runs"]
    assert queue["tagConcurrencyLimits"] == local["tag_concurrency_limits"]


@pytest.fixture
def chart_environment(monkeypatch):
    """What the chart's pods have in their environment: the storage password, from dagster-postgresql-secret."""
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "from-the-secret")


def test_the_instance_the_helm_values_imply_passes_dagsters_config_validation(tmp_path, chart_environment):
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(implied_instance_config(helm_values())))
    assert instance_config_errors(tmp_path) == []


@pytest.mark.parametrize(
    ("mistake", "named"),
    [
        (lambda c: c["run_coordinator"]["config"].update(max_concurrent_runs="four"), "QueuedRunCoordinator"),
        (lambda c: c["run_launcher"]["config"].update(image_pull_policy=["Always"]), "K8sRunLauncher"),
        (lambda c: c["run_launcher"]["config"].update(env_secret="movie-pipeline-env"), "K8sRunLauncher"),
        (lambda c: c["storage"]["postgres"]["postgres_db"].pop("hostname"), '"hostname"'),
        (lambda c: c["run_monitoring"].update(poll_interval_seconds="soon"), "dagster.yaml"),
    ],
    ids=["run queue", "launcher value", "launcher key", "storage", "instance"],
)
def test_a_wrong_instance_setting_fails_dagsters_config_validation(tmp_path, chart_environment, mistake, named):
    config = implied_instance_config(helm_values())
    mistake(config)
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    errors = instance_config_errors(tmp_path)
    assert errors and any(named in error for error in errors), errors


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: test, user: {token: unused}}]
contexts: [{name: test, context: {cluster: test, user: test}}]
current-context: test
"""


@pytest.mark.postgres
def test_the_implied_instance_loads_with_the_k8s_run_launcher_and_postgres_storage(postgres_url, tmp_path, monkeypatch):
    """Outside a cluster only the credentials differ: a kubeconfig file instead of the in-cluster service account,
    and the test PostgreSQL instead of the chart's host. Loading builds the launcher (it parses the kubeconfig and
    talks to no API server) and opens and migrates Dagster's storage."""
    url = make_url(postgres_url)
    config = implied_instance_config(helm_values())
    config["run_launcher"]["config"].update(load_incluster_config=False, kubeconfig_file=str(tmp_path / "kubeconfig"))
    config["storage"]["postgres"]["postgres_db"].update(
        hostname=url.host, port=url.port or 5432, username=url.username, db_name=url.database
    )
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_launcher).__name__ == "K8sRunLauncher"
        assert instance.run_launcher.job_namespace == "default"
        assert instance.run_launcher.env_secrets == ["movie-pipeline-env"]
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_monitoring_enabled and instance.run_retries_max_retries == 2
        assert instance.get_runs_count() == 0


def dockerfile_install_steps() -> list[str]:
    """The RUN lines of deploy/Dockerfile (the only steps that install anything)."""
    lines = DOCKERFILE.read_text().splitlines()
    return [line.removeprefix("RUN ").strip() for line in lines if line.startswith("RUN ")]


def test_the_dockerfile_copies_what_its_install_steps_need():
    copied = {shlex.split(line)[1] for line in DOCKERFILE.read_text().splitlines() if line.startswith("COPY ")}
    assert copied == {"requirements.lock", "pyproject.toml", "movie_pipeline"}
    assert dockerfile_install_steps() == ["pip install -r requirements.lock", "pip install --no-deps ."]


@pytest.mark.timeout(900)
def test_the_dockerfiles_install_steps_give_a_working_code_location_in_a_fresh_venv(tmp_path):
    """The image's install, replayed outside Docker: the COPY'd files in a build folder, its RUN steps in a new venv
    (pip is the venv's), then the code location loads from the installed package, not from this checkout."""
    build = tmp_path / "build"
    build.mkdir()
    for name in ("requirements.lock", "pyproject.toml"):
        (build / name).write_bytes((REPO_ROOT / name).read_bytes())
    no_caches = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO_ROOT / "movie_pipeline", build / "movie_pipeline", ignore=no_caches)
    venv.create(tmp_path / "venv", with_pip=True)
    bin_dir = tmp_path / "venv" / "bin"
    for step in dockerfile_install_steps():
        command = shlex.split(step)
        assert command[0] == "pip"
        subprocess.run([str(bin_dir / "pip"), *command[1:], "--quiet"], cwd=build, check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    loaded = subprocess.run(
        [str(bin_dir / "dagster"), "definitions", "validate", "-m", "movie_pipeline.definitions"],
        cwd=elsewhere,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import movie_pipeline; print(movie_pipeline.__file__)"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(tmp_path / "venv"), where.stdout
