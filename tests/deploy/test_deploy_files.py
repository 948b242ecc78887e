"""The deployment files are valid and say what a province needs: `docker-compose config`
(Debian's docker-compose, which validates against the Compose specification schema it
ships; `make deploy-tools` installs it) on deploy/docker-compose.yml, the Kubernetes JSON
schemas (the pinned `kubernetes-validate` package, strict: unknown fields fail) on every
manifest under deploy/k8s/, and the Dockerfiles: multi-stage, pinned, non-root."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.logs import server_log_config
from bot.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
K8S_VERSION = "1.33.0"
COMPOSE_BIN = shutil.which("docker-compose")


def _compose_config(tmp_path: Path, compose_text: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` on this text, as if it stood in deploy/ beside a .env made
    from .env.example (the file an operator copies)."""
    assert COMPOSE_BIN, "docker-compose is missing: run `make deploy-tools` (Debian's docker-compose)"
    (tmp_path / "docker-compose.yml").write_text(compose_text)
    example = (PROJECT_ROOT / ".env.example").read_text()
    (tmp_path / ".env").write_text(example + "\nPOSTGRES_PASSWORD=test-only-password\n")
    return subprocess.run(
        [COMPOSE_BIN, "config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    result = _compose_config(tmp_path, (DEPLOY / "docker-compose.yml").read_text(), CONGDAN_RASA_REPLICAS="3")
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert resolved["services"]["rasa"]["deploy"]["replicas"] == 3  # N from the environment
    assert resolved["services"]["actions"]["deploy"]["replicas"] == 2  # the default


def test_docker_compose_config_rejects_a_broken_file(tmp_path: Path) -> None:
    text = (DEPLOY / "docker-compose.yml").read_text().replace("    healthcheck:", "    healthchek:", 1)
    result = _compose_config(tmp_path, text)
    assert result.returncode != 0 and "healthchek" in result.stderr


def test_compose_runs_every_part_with_health_checks_restarts_and_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"gateway", "rasa", "actions", "postgres", "redis"} <= set(services)
    for name in ("gateway", "rasa", "actions", "postgres", "redis"):
        service = services[name]
        assert "healthcheck" in service or "healthcheck" in compose["x-app"], name
        assert service.get("restart", compose["x-app"]["restart"]) == "unless-stopped", name
    assert "/readyz" in " ".join(services["gateway"]["healthcheck"]["test"])
    # Only the gateway is published; Rasa stays internal (no --enable-api either).
    assert [n for n, s in services.items() if s.get("ports")] == ["gateway"]
    assert services["postgres"]["volumes"] and services["redis"]["volumes"]
    assert compose["x-app"]["env_file"] == ".env"
    for name in ("rasa", "actions"):
        assert "replicas" in services[name]["deploy"]


def _manifests() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


@pytest.mark.parametrize(("name", "doc"), _manifests(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_every_kubernetes_manifest_is_valid_against_the_schema(name: str, doc: dict[str, Any]) -> None:
    if doc["kind"] == "Kustomization":
        listed = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {
            "kustomization.yaml",
            "secret.example.yaml",
        }
        assert set(doc["resources"]) == listed
        return
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_schema_check_catches_a_mistake() -> None:
    deployment = next(doc for name, doc in _manifests() if doc["kind"] == "Deployment")
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/healthz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in _manifests() if doc["kind"] == kind}


def test_kubernetes_probes_resources_non_root_and_the_rasa_autoscaler() -> None:
    deployments = _by_kind("Deployment")
    assert set(deployments) == {"congdan-gateway", "congdan-rasa", "congdan-actions"}
    gateway = deployments["congdan-gateway"]["spec"]["template"]["spec"]["containers"][0]
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["startupProbe"]["httpGet"]["path"] == "/readyz"
    for deployment in deployments.values():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            assert {"requests", "limits"} <= set(container["resources"])
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert {"livenessProbe", "readinessProbe"} <= set(container)
            sources = container.get("envFrom", [])
            assert {"configMapRef": {"name": "congdan-config"}} in sources
    hpa = _by_kind("HorizontalPodAutoscaler")["congdan-rasa"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "congdan-rasa",
    }
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"] >= 2
    services = _by_kind("Service")
    assert set(services) == {"congdan-gateway", "congdan-rasa", "congdan-actions"}
    config = _by_kind("ConfigMap")["congdan-config"]["data"]
    assert config["CONGDAN_RASA_BASE_URL"] == "http://congdan-rasa:5005"


def _stages(dockerfile: Path) -> list[str]:
    return re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), flags=re.MULTILINE)


@pytest.mark.parametrize("name", ["Dockerfile.gateway", "Dockerfile.rasa"])
def test_dockerfiles_are_multi_stage_pinned_and_non_root(name: str) -> None:
    path = DEPLOY / "docker" / name
    text = path.read_text()
    bases = [b for b in _stages(path) if ":" in b]
    assert len(_stages(path)) >= 2, "not multi-stage"
    for base in bases:
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base), base
    final = text[text.rindex("\nFROM ") :]
    user = re.findall(r"^USER\s+(\S+)", final, flags=re.MULTILINE)
    assert user and not user[-1].startswith(("root", "0")), "the final stage runs as root"
    assert "HEALTHCHECK" in final


def test_compose_images_are_pinned_to_exact_versions(compose: dict[str, Any]) -> None:
    for name in ("postgres", "redis"):
        assert re.fullmatch(r"[a-z]+:\d+\.\d+(\.\d+)?-bookworm", compose["services"][name]["image"])


def test_the_python_versions_match_the_two_runtimes() -> None:
    assert _stages(DEPLOY / "docker" / "Dockerfile.gateway")[0].startswith("python:3.11.")
    assert _stages(DEPLOY / "docker" / "Dockerfile.rasa")[0].startswith("python:3.10.")


def test_the_gateway_image_logs_like_congdan_run_with_log_json() -> None:
    shipped = json.loads((DEPLOY / "docker" / "gateway-logging.json").read_text())
    assert shipped == server_log_config("INFO", json_lines=True)


def test_rasa_endpoints_in_containers_name_variables_not_secrets() -> None:
    text = (DEPLOY / "rasa" / "endpoints.yml").read_text()
    endpoints = yaml.safe_load(text)
    assert endpoints["tracker_store"]["password"] == "${RASA_DB_PASSWORD}"
    assert endpoints["lock_store"]["type"] == "redis"
    assert endpoints["action_endpoint"]["url"] == "${RASA_ACTIONS_URL}"
