"""`petition review`: the volunteers' web app (server-rendered FastAPI + Jinja2, a little vanilla JS).

queue.py holds the review tables, the worst-first queue and the leases; auth.py sessions, CSRF and the
login throttle; uploads.py the admin's background batches; app.py the routes.
"""
