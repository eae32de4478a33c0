#!/bin/bash
# Lambda handler of the gateway. The AWS Lambda Web Adapter (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap)
# runs this script, waits until the app listens on $PORT, then proxies each invocation to it
# as HTTP (streamed when AWS_LWA_INVOKE_MODE=response_stream).
#
# The a2a_gateway package, its dependencies and uvicorn come from the shared layer, mounted
# at /opt; A2A_LAYER_DIR overrides that so tests can start the built artifact as it is.
# launch.py reads the *_SECRET_ARN secrets into the environment, then runs uvicorn in the
# same process.
set -euo pipefail
LAYER_DIR="${A2A_LAYER_DIR:-/opt}"
export PYTHONPATH="${LAYER_DIR}/python${LAMBDA_RUNTIME_DIR:+:${LAMBDA_RUNTIME_DIR}}"
export PATH="${PATH}:${LAMBDA_TASK_ROOT}/bin"
exec python "${LAMBDA_TASK_ROOT}/launch.py" uvicorn \
    --factory a2a_gateway.gateway.app:create_app \
    --host 127.0.0.1 --port "${PORT:-8080}" --no-access-log --log-level warning
