"""The Kubernetes job template for the GPU pool: accepted by a real Prefect API as a work pool's base job
template, every placeholder backed by a variable, and rendered with its defaults into a GPU job."""

import json
import re
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.utilities.templating import apply_values

TEMPLATE = Path(__file__).resolve().parents[2] / "deployments" / "kubernetes" / "gpu-pool.json"


def test_gpu_pool_template_is_accepted_and_renders_a_gpu_job():
    template = json.loads(TEMPLATE.read_text())
    variables = template["variables"]["properties"]
    placeholders = set(re.findall(r"\{\{ *(\w+) *\}\}", json.dumps(template["job_configuration"])))
    assert placeholders == set(variables)  # a variable nobody references would be silently ignored

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="gpu-k8s", type="kubernetes", base_job_template=template))
        stored = client.read_work_pool("gpu-k8s").base_job_template
    assert stored == template

    defaults = {name: spec["default"] for name, spec in variables.items() if "default" in spec}
    job = apply_values(template["job_configuration"], defaults | {"gpus": 4, "command": "prefect flow-run execute"})
    pod = job["job_manifest"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 4 and container["args"] == "prefect flow-run execute"
    assert container["envFrom"] == [{"secretRef": {"name": "ecgflow-credentials", "optional": True}}]
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "64Gi"}} in pod["volumes"]
    assert job["env"]["ECGFLOW_S3_CACHE"] == "/scratch" and "AWS_SECRET_ACCESS_KEY" not in json.dumps(job)
