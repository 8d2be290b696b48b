# The sandbox image. `harness sandbox build` fills the build context (wheels/, runner/)
# and, where no registry is reachable, passes a base imported from Debian packages.
ARG BASE=python:3.11-slim
FROM ${BASE}

# Wheels are downloaded on the host: the build itself needs no network.
COPY wheels /tmp/wheels
COPY runner/requirements.txt /tmp/requirements.txt
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-index --no-cache-dir --find-links /tmp/wheels \
      -r /tmp/requirements.txt \
 && rm -rf /tmp/wheels /tmp/requirements.txt \
 && /opt/venv/bin/python -m compileall -q /opt/venv

COPY runner /opt/runner
RUN /opt/venv/bin/python -m compileall -q /opt/runner \
 && cd /opt/runner && /opt/venv/bin/python -c "from handlers.mypy import build_seed_cache; build_seed_cache()" \
 && chmod -R a+rX /opt/mypy-cache

ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
WORKDIR /work
CMD ["/opt/venv/bin/python", "-I", "/opt/runner/zygote.py"]
