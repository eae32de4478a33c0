#!/bin/bash
# Lambda handler of the gateway. The AWS Lambda Web Adapter (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap)
# runs this script, waits until the app listens on $PORT, then proxies each invocation to it
# as HTTP (streamed when AWS_LWA_INVOKE_MODE=response_stream).
#
# The a2a_gateway package, its dependencies and uvicorn come from the shared layer, mounted
# at /opt; A2A_LAYER_DIR overrides that so tests can start the built artifact as it is.
# launch.py reads the *_SECRET_ARN secrets into the environment, then runs uvicorn in the
# same process.
#
# On SIGTERM the gateway drains: open streams end at once with a resume frame, and uvicorn
# waits at most --timeout-graceful-shutdown seconds (A2A_DRAIN_SECONDS rounded up, at least
# 1) for connections to close before it exits.
set -euo pipefail
LAYER_DIR="${A2A_LAYER_DIR:-/opt}"
GRACE=5
if [[ "${A2A_DRAIN_SECONDS:-5}" =~ ^([0-9]*)(\.([0-9]*))?$ ]]; then
    GRACE=$((10#${BASH_REMATCH[1]:-0}))
    if [[ "${BASH_REMATCH[3]}" =~ [1-9] ]]; then GRACE=$((GRACE + 1)); fi
fi
if (( GRACE < 1 )); then GRACE=1; fi
export PYTHONPATH="${LAYER_DIR}/python${LAMBDA_RUNTIME_DIR:+:${LAMBDA_RUNTIME_DIR}}"
export PATH="${PATH}:${LAMBDA_TASK_ROOT}/bin"
exec python "${LAMBDA_TASK_ROOT}/launch.py" uvicorn \
    --factory a2a_gateway.gateway.app:create_app \
    --host 127.0.0.1 --port "${PORT:-8080}" --no-access-log --log-level warning \
    --timeout-graceful-shutdown "${GRACE}"
