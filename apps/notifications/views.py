"""HTML views of notifications: the settings page, one-click unsubscribe and confirming an address."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from apps.notifications import preferences, services
from apps.notifications.forms import PreferencesForm
from apps.notifications.unsubscribe import BadToken, read_unsubscribe_token
from apps.users.auth import request_user


@login_required
@require_http_methods(["GET", "POST"])
def preferences_edit(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    prefs = services.preferences_for(user=user)
    initial = {name: getattr(prefs, name) for name in preferences.EDITABLE}
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        preferences.preferences_update(user=user, data=form.cleaned_data)
        messages.success(request, "Your email settings are saved.")
        return redirect("notification-settings")
    context = {"form": form, "prefs": prefs}
    return render(request, "notifications/settings.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def address_confirmation_send(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if services.preferences_for(user=user).bounced_at is None:
        messages.info(request, "Your address is working: there is nothing to confirm.")
        return redirect("notification-settings")
    preferences.address_confirmation_request(user=user)
    messages.success(request, f"We sent a link to {user.email}. Open it to start receiving our emails again.")
    return redirect("notification-settings")


@require_http_methods(["GET", "POST"])
def address_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (a mail scanner fetching the link changes nothing); its POST clears the bounce."""
    if request.method == "POST":
        try:
            preferences.address_confirm(token=token)
        except preferences.ConfirmationInvalid:
            return render(request, "notifications/confirm_invalid.html", status=400)
        return render(request, "notifications/confirm_done.html")
    return render(request, "notifications/confirm.html")


# RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" with no cookies and no CSRF token; the signed token
# in the URL is what authorises it.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        unsubscription = read_unsubscribe_token(token)
    except BadToken:
        return render(request, "notifications/unsubscribe_invalid.html", status=400)
    if request.method == "POST":
        done = preferences.unsubscribe_apply(unsubscription=unsubscription)
        if done is None:
            return render(request, "notifications/unsubscribe_invalid.html", status=404)
        return render(request, "notifications/unsubscribed.html", {"unsubscription": unsubscription})
    return render(request, "notifications/unsubscribe.html", {"unsubscription": unsubscription})
