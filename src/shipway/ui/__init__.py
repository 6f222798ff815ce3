"""The web workspace: server-rendered pages (Jinja2) over the same services the API runs,
served by ``shipway server`` at ``/``. Every asset ships inside this package
(``static/``; vendored ones under ``static/vendor`` with their licences), and every page
answers with a ``Content-Security-Policy`` of ``default-src 'self'``: a page asks nothing of
any host but the server. See docs/ui.md.
"""
