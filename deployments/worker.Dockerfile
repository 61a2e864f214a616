# The GPU worker image: the ecgflow wheel on a CUDA PyTorch base, nothing else of the checkout. The deployments'
# entrypoints are module paths (deployments/prefect.yaml), so a worker needs only the installed package.
#
#   pip wheel --no-deps -w dist .                                   # the wheel, from a checkout
#   docker build -f deployments/worker.Dockerfile -t ecgflow-worker:0.1.0 .
#   docker run --gpus all -e PREFECT_API_URL=http://prefect:4200/api -e PREFECT_API_AUTH_STRING ecgflow-worker:0.1.0
#
# The same image is the Kubernetes GPU pool's default (deployments/kubernetes/gpu-pool.json), where the worker
# starts it per flow run. Its build is not part of this project's tests: they run with no container daemon and no
# base image registry.
FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-devel

# DeepSpeed builds its fused ops with the CUDA compiler the devel base carries.
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
COPY dist/ecgflow-*.whl /tmp/
RUN pip install --no-cache-dir /tmp/ecgflow-*.whl && rm /tmp/ecgflow-*.whl

# The local copy of the store's pages and checkpoints: a scratch volume on the machine (S3 stores).
ENV ECGFLOW_S3_CACHE=/scratch \
    PYTHONUNBUFFERED=1
WORKDIR /scratch
CMD ["prefect", "worker", "start", "--pool", "gpu", "--type", "process"]
