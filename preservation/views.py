from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from . import selectors


@login_required
def dashboard(request):
    page = Paginator(selectors.dashboard_requests(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "preservation/dashboard.html", {"page": page})
