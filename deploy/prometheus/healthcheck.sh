#!/usr/bin/env bash
# Prometheus container health: GET /-/ready on localhost:9090 answers 200 (no curl needed).
set -euo pipefail
exec 3<>/dev/tcp/127.0.0.1/9090
printf 'GET /-/ready HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
IFS= read -r -t 5 status <&3
[[ "$status" =~ ^HTTP/1\.[01]\ 200 ]]
