from django.utils.translation import gettext_lazy as _
from rest_framework import pagination


class PagePagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_paginated_response_schema(self, schema):
        """DRF's, with OpenAPI 3.1 nullability (a "null" type, not "nullable") and our own paths."""
        link = {"type": ["string", "null"], "format": "uri"}
        return {
            "type": "object",
            "required": ["count", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "minimum": 0, "example": 123},
                "next": {**link, "description": str(_("The next page; null on the last.")),
                         "example": "https://preserve.example/api/v1/requests/?page=3"},
                "previous": {**link, "description": str(_("The previous page; null on the first.")),
                             "example": "https://preserve.example/api/v1/requests/?page=1"},
                "results": schema,
            },
        }
