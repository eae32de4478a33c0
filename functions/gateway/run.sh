#!/bin/bash
# Lambda handler for the gateway: the AWS Lambda Web Adapter (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap)
# runs this script, waits for the app on $PORT, then proxies each invocation to it as HTTP.
# The a2a_gateway package, its dependencies and uvicorn come from the shared layer (/opt/python).
PATH=$PATH:$LAMBDA_TASK_ROOT/bin \
PYTHONPATH=/opt/python:$LAMBDA_RUNTIME_DIR \
exec python -m uvicorn --factory a2a_gateway.gateway.app:create_app \
    --host 127.0.0.1 --port "${PORT:-8080}" --no-access-log
