from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.core.taxonomy import CATEGORIES


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {"categories": CATEGORIES})
