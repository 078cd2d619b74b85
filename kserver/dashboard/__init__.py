"""The dashboard's static files (index.html, app.js, style.css), served at ``/_dashboard/``."""
