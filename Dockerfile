# ctforeclosure: one image for the scrapyd node (default command) and the web UI
# (`docker run IMAGE ctforeclosure web --host 0.0.0.0`). Multi-stage: the build stage
# makes a virtualenv with the project and builds the scrapyd egg; the runtime stage
# copies both onto Debian with Debian's Python and Chromium, as a non-root user.
# The base is a build argument: debian:bookworm-slim from a registry, or a base made
# with debootstrap where no registry is reachable (scripts/docker-base; README §6).
# Built and started by tests/docker/test_container.py.

ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
# Where no package index is reachable, pip takes the wheels from a local folder
# served over HTTP (the test passes PIP_NO_INDEX=1 and PIP_FIND_LINKS=http://...).
ARG PIP_NO_INDEX=0
ARG PIP_FIND_LINKS
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Debian pins its packages per release, so the versions are not pinned here.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py scrapy.cfg README.md ./
COPY ctforeclosure ./ctforeclosure
COPY sql ./sql
COPY webui ./webui
# The venv holds every dependency: scrapyd runs jobs with its own Python and the egg
# carries none. The egg is built from the same sources.
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install . \
    && /opt/venv/bin/scrapyd-deploy --build-egg /src/ctforeclosure.egg

FROM ${BASE_IMAGE}
ARG EGG_VERSION=1
# Python (the venv's interpreter) and Chromium for the scrapy-playwright fallback
# (Playwright's own browser download is not used), from Debian.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 chromium ca-certificates \
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
    CMD ["python", "-c", "import os, requests; requests.get('http://127.0.0.1:' + os.environ.get('SCRAPYD_HTTP_PORT', '6800') + '/daemonstatus.json', auth=(os.environ['SCRAPYD_USERNAME'], os.environ['SCRAPYD_PASSWORD']), timeout=4).raise_for_status()"]
# `ctforeclosure node start` refuses empty or placeholder credentials, then runs scrapyd.
CMD ["ctforeclosure", "node", "start", "--pidfile="]
