# The daemon as a container.
#   docker build -t monitor .        (or: podman build --format docker -t monitor .)
#   docker run -d --name monitor -v monitor-var:/app/var \
#     -e MONITOR_SMTP__HOST=mail.example.org -e MONITOR_SMTP__PASSWORD=... monitor
# Where no registry is reachable, build a base locally and pass it: `make image-check` does so.
#
# Two stages on the same Debian-based Python 3.11 base (BASE_IMAGE, for both):
#   build    compilers and headers; builds /opt/venv. pyicu (normality's transliteration) is
#            published only as an sdist: it needs a C++ compiler, pkg-config, libicu-dev and the
#            Python headers.
#   runtime  the venv, the shared libraries its extensions link to (libicu72 on bookworm,
#            libicu76 on trixie: read from the build, not written here), the app's files.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBIAN_FRONTEND=noninteractive

# The official python images carry Python.h under /usr/local; Debian's python3 needs python3-dev.
RUN include=$(python -c 'import sysconfig; print(sysconfig.get_path("include"))') \
    && headers=$([ -f "$include/Python.h" ] || echo python3-dev) \
    && apt-get update \
    && apt-get install -y --no-install-recommends g++ pkg-config libicu-dev $headers \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# The same pinned dependencies as `make`: pyproject.toml.
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN python -m venv /opt/venv \
    && /opt/venv/bin/python -m pip install --upgrade pip \
    && /opt/venv/bin/python -m pip install .

# The Debian packages owning the system libraries that the venv's compiled extensions load.
# Wheels bundle theirs in <name>.libs/, found through the extension's RPATH (so ldd on those
# alone would report false misses); what they need outside the venv comes from here.
RUN find /opt/venv -type f \( -name '*.so' -o -name '*.so.*' \) ! -path '*.libs/*' -exec ldd {} + 2>/dev/null \
      | awk '$2 == "=>" && $3 ~ /^\// && $3 !~ /^\/opt\/venv\// {print $3}' | sort -u \
      | while read -r lib; do dpkg -S "$lib" 2>/dev/null || dpkg -S "$(realpath "$lib")" 2>/dev/null || true; done \
      | cut -d: -f1 | sort -u > /opt/venv/runtime-packages.txt \
    && grep -q '^libicu[0-9]' /opt/venv/runtime-packages.txt \
    && cat /opt/venv/runtime-packages.txt


FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MONITOR_CONFIG=/app/config.toml \
    PATH=/opt/venv/bin:$PATH

COPY --from=build /opt/venv /opt/venv
# Install only the runtime libraries the base lacks, then prove every extension resolves.
RUN missing=$(for package in $(cat /opt/venv/runtime-packages.txt); do \
        dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q 'ok installed' || echo "$package"; done) \
    && if [ -n "$missing" ]; then \
        apt-get update \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && ! find /opt/venv -type f \( -name '*.so' -o -name '*.so.*' \) ! -path '*.libs/*' -exec ldd {} + 2>/dev/null | grep 'not found' \
    && python -c 'import icu, normality; print("ICU", icu.ICU_VERSION, normality.normalize("Қазақстан", latinize=True))'

WORKDIR /app
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
