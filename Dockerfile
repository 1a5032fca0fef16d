# The daemon as a container. Build: docker build -t monitor .   (or podman build)
# Run:   docker run -d --name monitor -v monitor-var:/app/var \
#          -e MONITOR_SMTP__HOST=mail.example.org -e MONITOR_SMTP__PASSWORD=... monitor
# Where no registry is reachable, pass a locally built Python 3.11 base: --build-arg BASE=...
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MONITOR_CONFIG=/app/config.toml

WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN python -m pip install --upgrade pip && python -m pip install .

COPY config.toml ./
COPY rules ./rules
COPY templates ./templates
COPY seed_corpus ./seed_corpus

RUN useradd --system --home-dir /app --shell /usr/sbin/nologin monitor \
    && mkdir -p /app/var && chown monitor /app/var
USER monitor
VOLUME ["/app/var"]

# `monitor status` fails when the configuration or the database cannot be read.
HEALTHCHECK --interval=5m --timeout=30s CMD ["monitor", "status"]
ENTRYPOINT ["monitor"]
CMD ["run"]
