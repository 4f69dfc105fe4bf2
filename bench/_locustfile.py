"""Simulated users for bench/loadtest.py (run by it; not a benchmark on its own).

Reads PRESERVE_LOADTEST_CONFIG, a JSON file written by loadtest.py: per user a signed-in
session cookie, a CSRF secret and an API token; the URL of each mix member (None: skipped);
request ids of the agency to open. Every request is judged strictly: a page must answer 200
(a redirect, to the login page or elsewhere, is an error), a save 302, an API create 201.
"""
import itertools
import json
import os
import random
import re

from locust import HttpUser, between, events, task

from _forms import FormFields

with open(os.environ["PRESERVE_LOADTEST_CONFIG"]) as config_file:
    CONFIG = json.load(config_file)
URLS = CONFIG["urls"]
_accounts = itertools.cycle(CONFIG["users"])
_serial = itertools.count(1)
SERIALS = ["G8T1-SJ02-3294-01VR", "G8T1-9412-3135-0JD5", "G8T1LPFFF4023S6S", "638241420"]
# The app sits behind a TLS proxy in production (loadtest.py sets DJANGO_PROXY_COUNT=1); these
# are the headers that proxy would add.
HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}


@events.test_start.add_listener
def announce(environment, **kwargs):
    skipped = [member for member, url in URLS.items() if url is None]
    if skipped:
        print("Left out of the mix (no such URL in this code): " + ", ".join(skipped))


class Officer(HttpUser):
    wait_time = between(*CONFIG["wait"])

    def on_start(self):
        account = next(_accounts)
        for name, value in account["cookies"].items():
            self.client.cookies.set(name, value)
        self.token = account["api_token"]

    def _get(self, url, name):
        with self.client.get(url, name=name, headers=HEADERS, allow_redirects=False,
                             catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {response.headers.get('Location', '')}")
            return response

    @task(4)
    def dashboard(self):
        if URLS["dashboard"]:
            self._get(URLS["dashboard"], "dashboard")

    @task(4)
    def request_page(self):
        if URLS["request page"]:
            pk = random.choice(CONFIG["request_pks"])
            self._get(URLS["request page"].format(pk=pk), "request page")

    @task(1)
    def intake(self):
        if not URLS["intake"]:
            return
        page = self._get(URLS["intake"], "intake: form")
        if page.status_code != 200:
            return
        parser = FormFields(URLS["intake"])
        parser.feed(page.text)
        data = parser.fields
        data.update(case_number="LT-WEB-%06d" % next(_serial), paste=random.choice(SERIALS))
        data.pop("action", None)  # "save draft", the default button
        origin = self.host.replace("http://", "https://")
        with self.client.post(URLS["intake"], data=data, name="intake: save", allow_redirects=False,
                              headers={**HEADERS, "Referer": origin + URLS["intake"], "Origin": origin},
                              catch_response=True) as response:
            if response.status_code != 302:
                fields = sorted(set(re.findall(r'id="error_\d+_id_(\w+)"', response.text)))
                response.failure(f"{response.status_code} fields in error: {fields}")

    @task(1)
    def api_create(self):
        if not URLS["api create"]:
            return
        payload = {
            "case_number": "LT-API-%06d" % next(_serial),
            "data_types": CONFIG["data_types"],
            "window_start": "2026-11-01T18:00:00",
            "window_end": "2026-11-01T20:00:00",
            "window_zone": "America/New_York",
            "serials": [{"raw": random.choice(SERIALS)}],
        }
        with self.client.post(URLS["api create"], json=payload, name="api create",
                              headers={**HEADERS, "Authorization": "Bearer " + self.token},
                              catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code} {response.text[:200]}")


class TrivialOfficer(HttpUser):
    """The baseline: the same signed-in users on a login-required page that does nothing."""
    wait_time = between(*CONFIG["wait"])

    def on_start(self):
        for name, value in next(_accounts)["cookies"].items():
            self.client.cookies.set(name, value)

    @task
    def trivial(self):
        with self.client.get(CONFIG["trivial_url"], name="trivial", headers=HEADERS,
                             allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {response.headers.get('Location', '')}")
