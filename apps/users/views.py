import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.users import selectors, services
from apps.users.auth import request_user
from apps.users.forms import DeleteAccountForm, ProfileForm


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest) -> HttpResponse:
    profile = selectors.profile_for(user=request_user(request))
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        services.profile_update(profile=profile, data={name: form.cleaned_data[name] for name in form.fields})
        messages.success(request, "Your profile is saved.")
        return redirect("profile")
    context = {"form": form, "second_factor_on": bool(selectors.second_factor_types(user=request_user(request)))}
    return render(request, "users/profile.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET"])
def account_export(request: HttpRequest) -> HttpResponse:
    body = json.dumps(selectors.user_export(user=request_user(request)), cls=DjangoJSONEncoder, indent=2)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="weekend-planner-export.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = request_user(request)
        logout(request)
        services.user_delete(user=user)
        messages.success(request, "Your account and its data are deleted.")
        return redirect("home")
    return render(request, "users/delete.html", {"form": form}, status=400 if form.errors else 200)
