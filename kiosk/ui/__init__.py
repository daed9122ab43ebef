"""The full-screen Kivy kiosk: thin views over the presenter's view models.

Import `kiosk.ui.env.prepare()` before anything imports Kivy.
"""
