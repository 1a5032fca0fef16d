# The daemon as a container.
#   docker build -t monitor .        (or: podman build -t monitor .)
#   docker run -d --name monitor -v monitor-var:/app/var \
#     -e MONITOR_SMTP__HOST=mail.example.org -e MONITOR_SMTP__PASSWORD=... monitor
# Where no registry is reachable, build a base locally and pass it: `make image-check` does so.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MONITOR_CONFIG=/app/config.toml \
    PATH=/opt/venv/bin:$PATH

WORKDIR /app
# The same pinned dependencies as `make`: pyproject.toml.
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN python -m venv /opt/venv \
    && /opt/venv/bin/python -m pip install --upgrade pip \
    && /opt/venv/bin/python -m pip install .

COPY config.toml ./
COPY rules ./rules
COPY templates ./templates
COPY seed_corpus ./seed_corpus

RUN useradd --system --home-dir /app --shell /usr/sbin/nologin monitor \
    && mkdir -p /app/var && chown monitor /app/var
USER monitor
# The database, the outbox and the lock live here; mount config.toml and rules/ to change them.
VOLUME ["/app/var"]

HEALTHCHECK --interval=5m --timeout=30s --start-period=2m CMD ["monitor", "status", "--check"]
ENTRYPOINT ["monitor"]
CMD ["run"]
