"""Mattermost's error body (model.AppError) and the error ids the simulated endpoints answer with.

Detailed errors stay empty: a production server (EnableDeveloper off) wipes them before answering.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse


class AppError(Exception):
    """Raised by handlers; the app turns it into Mattermost's JSON error body."""

    def __init__(self, error_id: str, message: str, status_code: int) -> None:
        super().__init__(f"{status_code} {error_id}")
        self.error_id = error_id
        self.message = message
        self.status_code = status_code

    def body(self, request_id: str) -> dict[str, Any]:
        return {
            "id": self.error_id,
            "message": self.message,
            "detailed_error": "",
            "request_id": request_id,
            "status_code": self.status_code,
        }

    def response(self, request_id: str) -> JSONResponse:
        return JSONResponse(self.body(request_id), status_code=self.status_code)


def session_expired() -> AppError:
    return AppError("api.context.session_expired.app_error", "Invalid or expired session, please login again.", 401)


def permission_denied() -> AppError:
    return AppError("api.context.permissions.app_error", "You do not have the appropriate permissions.", 403)


def not_found() -> AppError:
    return AppError("api.context.404.app_error", "Sorry, we could not find the page.", 404)


def invalid_param(name: str) -> AppError:
    # Mattermost's SetInvalidParam uses the "body param" id even for query-string parameters.
    return AppError("api.context.invalid_body_param.app_error", f"Invalid or missing {name} in request body.", 400)


def invalid_url_param(name: str) -> AppError:
    return AppError("api.context.invalid_url_param.app_error", f"Invalid or missing {name} parameter in request URL.",
                    400)


def blank_password() -> AppError:
    return AppError("api.user.login.blank_pwd.app_error", "Password field must not be blank", 400)


def invalid_credentials() -> AppError:
    return AppError("api.user.login.invalid_credentials_email_username",
                    "Enter a valid email or username and/or password.", 401)


def license_format_required() -> AppError:
    return AppError("api.license.client.old_format.app_error",
                    "New format for the client license is not supported yet. Please specify format=old in the "
                    "query string.", 400)


def user_not_found() -> AppError:
    return AppError("app.user.missing_account.const", "Unable to find the user.", 404)


def email_lookup_denied() -> AppError:
    return AppError("api.user.get_user_by_email.permissions.app_error", "Unable to get user by email.", 403)


def plugins_disabled() -> AppError:
    return AppError("app.plugin.disabled.app_error", "Plugins have been disabled. Please check your logs for details.",
                    501)


def injected(status: int) -> AppError:
    """The body of a status fault: the id a real server uses for that status where there is one."""
    known = {401: session_expired(), 403: permission_denied(), 404: not_found()}
    if status in known:
        return known[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return AppError("app.simulator.injected_fault.app_error", phrase, status)
