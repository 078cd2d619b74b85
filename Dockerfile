# kserver: the Kuzzle 2.x protocol server (WebSocket + HTTP on 7512).
# Storage defaults to an embedded SQLite file in /data; set KSERVER_STORAGE=mongodb://... for MongoDB.

# Build stage: the wheel, with the hot-path modules compiled by mypyc (setup.py), needs a C compiler.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# protocol/ is packaged into the wheel (kserver/_protocol), so it must be in the build context.
COPY pyproject.toml setup.py README.md ./
COPY protocol ./protocol
COPY kserver ./kserver
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels
# A build that fell back to pure Python would run, slower: refuse it here instead.
RUN kserver --version && kserver --version | grep -q 'compiled: \([0-9]*\) of \1 '

RUN useradd --system --uid 10001 --home-dir /data kserver && mkdir -p /data && chown kserver /data
USER kserver
WORKDIR /data

ENV KSERVER_HOST=0.0.0.0 \
    KSERVER_PORT=7512 \
    KSERVER_STORAGE=sqlite:////data/kserver.db
EXPOSE 7512
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7512/_healthCheck', timeout=2)"]
CMD ["kserver"]
