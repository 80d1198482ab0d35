# ctforeclosure: one image for the scrapyd node (default command) and the web UI
# (`docker run IMAGE ctforeclosure web --host 0.0.0.0`). Multi-stage: the build stage
# makes a virtualenv with the project and builds the scrapyd egg; the runtime stage
# copies both onto a slim Python with Debian's Chromium, as a non-root user.
# NOTE: not built on the project machines (no Docker engine there); CI lints this
# file with hadolint and runs the same install and start commands outside Docker
# (tests/scrapyd/test_docker.py).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml setup.py scrapy.cfg README.md ./
COPY ctforeclosure ./ctforeclosure
COPY sql ./sql
COPY webui ./webui
# The venv holds every dependency: scrapyd runs jobs with its own Python and the egg
# carries none. The egg is built from the same sources.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install . \
    && /opt/venv/bin/scrapyd-deploy --build-egg /src/ctforeclosure.egg

FROM ${PYTHON_IMAGE}
ARG EGG_VERSION=1
# Chromium for the scrapy-playwright fallback (Playwright's own browser download is
# not used). Debian pins it per release, so the version is not pinned here.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 ctforeclosure \
    && useradd --system --uid 10001 --gid ctforeclosure --home-dir /var/lib/scrapyd \
       --shell /usr/sbin/nologin ctforeclosure \
    && install -d -o ctforeclosure -g ctforeclosure /var/lib/scrapyd
COPY --from=build /opt/venv /opt/venv
# scrapyd's FilesystemEggStorage layout: <eggs_dir>/<project>/<version>.egg
COPY --from=build /src/ctforeclosure.egg /opt/ctforeclosure/eggs/ctforeclosure/${EGG_VERSION}.egg
COPY deploy/scrapyd.conf /etc/scrapyd/scrapyd.conf
COPY deploy/scrapyd-image.conf /etc/scrapyd/conf.d/10-image.conf
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CHROMIUM_PATH=/usr/bin/chromium \
    CTF_DATA_DIR=/var/lib/scrapyd/data
# Numeric, so volume ownership does not depend on the host's user names.
USER 10001:10001
WORKDIR /var/lib/scrapyd
VOLUME ["/var/lib/scrapyd"]
EXPOSE 6800 8000
# Needs SCRAPYD_USERNAME/SCRAPYD_PASSWORD: daemonstatus.json is behind basic auth.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, requests; requests.get('http://127.0.0.1:6800/daemonstatus.json', auth=(os.environ['SCRAPYD_USERNAME'], os.environ['SCRAPYD_PASSWORD']), timeout=4).raise_for_status()"]
# `ctforeclosure node start` refuses empty or placeholder credentials, then runs scrapyd.
CMD ["ctforeclosure", "node", "start", "--pidfile="]
