"""Docker HEALTHCHECK for the web role: GET /healthz on the local gunicorn.

Standard library only and no Django import, so a probe costs a few milliseconds. It sends a
Host header Django accepts (the first of DJANGO_ALLOWED_HOSTS) and X-Forwarded-Proto: https, so
neither host validation nor the HTTPS redirect turns the probe into an error.
"""
import http.client
import os
import sys


def main():
    # ".example.org" allows example.org; "*" allows anything.
    host = os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")[0].strip().lstrip(".")
    if host in ("", "*"):
        host = "localhost"
    conn = http.client.HTTPConnection("127.0.0.1", int(os.environ.get("PORT", "8000")), timeout=4)
    try:
        conn.request("GET", "/healthz", headers={"Host": host, "X-Forwarded-Proto": "https"})
        status = conn.getresponse().status
    except OSError as exc:
        print(f"healthz unreachable: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    if status != 200:
        print(f"healthz answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
