"""The server-rendered pages: sign-in, password change, messages. Plain HTML, no script, escaped values."""

from __future__ import annotations

from html import escape

STYLE = """body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;background:#f4f6f9;margin:0}
main{max-width:380px;margin:8vh auto;background:#fff;padding:2em;border-radius:8px;box-shadow:0 2px 8px #0002}
h1{font-size:1.3em;margin-top:0}label{display:block;margin:.8em 0 .2em}input[type=text],input[type=password]{
width:100%;box-sizing:border-box;padding:.5em}button{margin-top:1.2em;width:100%;padding:.6em;background:#1565c0;
color:#fff;border:0;border-radius:4px;font-size:1em}.error{color:#b71c1c;background:#ffebee;padding:.6em}
.notice{color:#0d47a1;background:#e3f2fd;padding:.6em}ul.channels{list-style:none;padding:0}"""


def page(title: str, body: str, status_note: str = "") -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><main><h1>{escape(title)}</h1>{status_note}{body}</main></body></html>")


def _message(error: str | None, notice: str | None) -> str:
    html = ""
    if error:
        html += f'<p class="error" role="alert">{escape(error)}</p>'
    if notice:
        html += f'<p class="notice">{escape(notice)}</p>'
    return html


def login_page(*, action: str, csrf: str, continue_to: str, username: str = "", error: str | None = None,
               notice: str | None = None, channels: list[tuple[str, str]] | None = None) -> str:
    links = ""
    if channels:
        items = "".join(f'<li><a href="{escape(href)}">{escape(label)}</a></li>' for label, href in channels)
        links = f'<p>其他登录方式 / Other ways to sign in</p><ul class="channels">{items}</ul>'
    body = f"""<form method="post" action="{escape(action)}">
<input type="hidden" name="csrf_token" value="{escape(csrf)}">
<input type="hidden" name="continue" value="{escape(continue_to)}">
<label for="username">用户名 / Username</label>
<input type="text" id="username" name="username" value="{escape(username)}" autocomplete="username" required>
<label for="password">密码 / Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">登录 / Sign in</button>
</form>{links}"""
    return page("统一身份认证 · Sign in", body, _message(error, notice))


def password_page(*, action: str, csrf: str, continue_to: str, reason: str, errors: list[str] | None = None) -> str:
    problems = "".join(f"<li>{escape(e)}</li>" for e in errors or [])
    error_html = f'<ul class="error" role="alert">{problems}</ul>' if problems else ""
    body = f"""{error_html}<form method="post" action="{escape(action)}">
<input type="hidden" name="csrf_token" value="{escape(csrf)}">
<input type="hidden" name="continue" value="{escape(continue_to)}">
<label for="current">当前密码 / Current password</label>
<input type="password" id="current" name="current_password" autocomplete="current-password" required>
<label for="new">新密码 / New password</label>
<input type="password" id="new" name="new_password" autocomplete="new-password" required>
<label for="confirm">确认新密码 / Confirm</label>
<input type="password" id="confirm" name="confirm_password" autocomplete="new-password" required>
<button type="submit">修改密码 / Change password</button>
</form>"""
    return page("修改密码 · Change your password", body, _message(None, reason))


def message_page(title: str, message: str, *, error: bool = False) -> str:
    return page(title, f'<p class="{"error" if error else "notice"}">{escape(message)}</p>')
