#!/usr/bin/env python3
"""medsoc_playbook alert action: hands the results of a triggered search to medsoc.

Splunk runs `medsoc_playbook.py --execute` and writes one JSON payload to stdin (configuration,
result, results_file, sid, search_name, app, owner, server_uri, session_key). This script reads the
signing secret from storage/passwords (realm "medsoc"), POSTs the results to the configured medsoc
endpoint (/v1/triggers/splunk) and exits non-zero when medsoc did not accept them.

Request: POST <endpoint>, Content-Type: application/json, body
  {"source": "splunk", "playbook", "search_name", "sid", "app", "owner", "results_link",
   "trigger_time", "results": [<row>, ...]}
headers
  X-Medsoc-Timestamp: <unix seconds>
  X-Medsoc-Signature: <hex HMAC-SHA256(secret, timestamp + body)>
where "timestamp + body" is the decimal timestamp string immediately followed by the exact body bytes.

Python 3 standard library only. Exit codes: 0 accepted, 2 configuration or refused (4xx),
3 medsoc unreachable or failing (5xx, network) after retries.
"""

import csv
import gzip
import hashlib
import hmac
import json
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

REALM = "medsoc"
APP = "medsoc"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
ATTEMPTS = 3


def log(level, message):
    # sendmodalert copies stderr into _internal; never print the secret or the session key.
    sys.stderr.write("%s medsoc_playbook: %s\n" % (level, message))


class ActionError(Exception):
    def __init__(self, message, code):
        Exception.__init__(self, message)
        self.code = code


def is_loopback(url):
    return (urllib.parse.urlsplit(url).hostname or "") in LOOPBACK


def check_url(url, what):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and is_loopback(url):
        return
    raise ActionError("%s must be an https URL (plain http only on loopback): %r" % (what, url), 2)


def read_secret(payload, name):
    server_uri = payload.get("server_uri") or ""
    session_key = payload.get("session_key") or ""
    if not server_uri or not session_key:
        raise ActionError("no server_uri/session_key in the payload: cannot read the signing secret", 2)
    check_url(server_uri, "server_uri")
    entity = urllib.parse.quote("%s:%s:" % (REALM, name), safe="")
    url = "%s/servicesNS/nobody/%s/storage/passwords/%s?output_mode=json" % (server_uri.rstrip("/"), APP, entity)
    request = urllib.request.Request(url, headers={"Authorization": "Splunk %s" % session_key})
    # The local management port presents Splunk's own (usually self-signed) certificate.
    context = ssl.create_default_context()
    if is_loopback(server_uri):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as reply:
            body = json.loads(reply.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        raise ActionError("reading the signing secret %r from storage/passwords: HTTP %d" % (name, error.code), 2)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ActionError("reading the signing secret %r from storage/passwords: %s" % (name, error), 3)
    for entry in body.get("entry") or []:
        secret = (entry.get("content") or {}).get("clear_password")
        if secret:
            return secret
    raise ActionError("storage/passwords has no credential %s:%s:" % (REALM, name), 2)


def read_results(payload, limit):
    path = payload.get("results_file")
    rows = []
    if path:
        try:
            with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle):
                    # Splunk adds __mv_<field> companions for multivalue fields: drop them.
                    rows.append({k: v for k, v in row.items() if k and not k.startswith("__mv_")})
                    if len(rows) >= limit:
                        break
        except (OSError, csv.Error) as error:
            log("WARN", "could not read results_file (%s); sending the first result only" % error)
            rows = []
    if not rows and isinstance(payload.get("result"), dict):
        rows = [payload["result"]]
    return rows


def sign(secret, timestamp, body):
    return hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + body, hashlib.sha256).hexdigest()


def post(endpoint, body, secret, verify_tls):
    context = ssl.create_default_context()
    if not verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    last = None
    for attempt in range(1, ATTEMPTS + 1):
        timestamp = str(int(time.time()))
        request = urllib.request.Request(
            endpoint,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "medsoc-splunk-alert-action/0.1.0",
                "X-Medsoc-Timestamp": timestamp,
                "X-Medsoc-Signature": sign(secret, timestamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30, context=context) as reply:
                return reply.status, reply.read().decode("utf-8", "replace")[:500]
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")[:500]
            if error.code < 500 and error.code != 429:
                raise ActionError("medsoc refused the trigger: HTTP %d %s" % (error.code, text), 2)
            last = "HTTP %d %s" % (error.code, text)
        except (urllib.error.URLError, OSError) as error:
            last = str(error)
        if attempt < ATTEMPTS:
            log("WARN", "attempt %d failed (%s); retrying" % (attempt, last))
            time.sleep(2 ** attempt)
    raise ActionError("medsoc did not accept the trigger after %d attempts: %s" % (ATTEMPTS, last), 3)


def run(payload):
    config = payload.get("configuration") or {}
    endpoint = (config.get("endpoint") or "").strip()
    playbook = (config.get("playbook") or "").strip()
    if not endpoint:
        raise ActionError("param.endpoint is not set (run `medsoc setup splunk` or edit the alert)", 2)
    if not playbook:
        raise ActionError("param.playbook is not set", 2)
    check_url(endpoint, "param.endpoint")
    try:
        limit = max(1, int(config.get("max_results") or 100))
    except ValueError:
        raise ActionError("param.max_results must be a whole number", 2)
    verify_tls = str(config.get("verify_tls", "1")).strip().lower() not in ("0", "false", "no")
    secret = read_secret(payload, (config.get("secret_name") or "trigger_secret").strip())
    results = read_results(payload, limit)
    body = json.dumps(
        {
            "source": "splunk",
            "playbook": playbook,
            "search_name": payload.get("search_name"),
            "sid": payload.get("sid"),
            "app": payload.get("app"),
            "owner": payload.get("owner"),
            "results_link": payload.get("results_link"),
            "trigger_time": payload.get("trigger_time"),
            "results": results,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode("utf-8")
    status, text = post(endpoint, body, secret, verify_tls)
    log("INFO", "medsoc accepted %d result(s) for playbook %s: HTTP %d %s" % (len(results), playbook, status, text))


def main(argv):
    if len(argv) < 2 or argv[1] != "--execute":
        sys.stderr.write("usage: medsoc_playbook.py --execute < payload.json\n")
        return 2
    try:
        payload = json.loads(sys.stdin.read())
    except ValueError as error:
        log("ERROR", "the payload on stdin is not JSON: %s" % error)
        return 2
    try:
        run(payload)
    except ActionError as error:
        log("ERROR", str(error))
        return error.code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
