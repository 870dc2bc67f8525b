#!/bin/sh
# The auth container's command. libuv's thread pool runs the async bcrypt hashes (and fs, dns, crypto work): its
# default of 4 threads would cap a larger machine at 4 parallel hashes per process, so it gets one thread per core
# (at least 4) unless UV_THREADPOOL_SIZE is set. It must be set before node starts: libuv reads it once.
if [ -z "${UV_THREADPOOL_SIZE:-}" ]; then
  cores="$(nproc 2>/dev/null || echo 4)"
  UV_THREADPOOL_SIZE=$((cores > 4 ? cores : 4))
fi
export UV_THREADPOOL_SIZE
# @authstack/telemetry/tracing starts OpenTelemetry first when OTEL_EXPORTER_OTLP_ENDPOINT is set; else it does nothing.
exec node --import @authstack/telemetry/tracing services/auth/src/server.ts "$@"
