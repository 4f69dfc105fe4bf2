"""The fields of a page's form, as a browser would post them (the load test's locustfile and the
page profile both fill the intake form from the page they were served)."""
from html.parser import HTMLParser


class FormFields(HTMLParser):
    """Every named input, select and textarea of the POST form that submits to ``path`` (not
    the navigation's logout form), with its current value."""

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.fields, self._in_form, self._select, self._textarea = {}, False, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post" \
                and a.get("action") in (None, "", self.path):
            self._in_form = True
        if not self._in_form:
            return
        if tag == "option" and self._select and ("selected" in a or self._select not in self.fields):
            self.fields[self._select] = a.get("value", "")
        if "name" not in a or "disabled" in a:
            return
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button", "file"):
                self.fields[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[a["name"]] = ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
