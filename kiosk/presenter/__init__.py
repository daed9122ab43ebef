"""What the screens say, decided by pure code: engine events in, view models out.

No Kivy here: the presenter is tested without a window, in every language.
"""
