"""`petition review`: the volunteers' web app (server-rendered FastAPI + Jinja2, a little vanilla JS).

queue.py the worst-first line queue, its verdicts and progress; pairs.py the possible duplicates; claims.py the
leases both hand out; auth.py sessions, CSRF and the login throttle; uploads.py the admin's background batches;
admin.py and app.py the routes; web.py what every route shares. The tables and SQL are pipeline/store's.
"""
