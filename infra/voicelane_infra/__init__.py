"""Voicelane's CDK app: a stack that composes one construct per capability.

Runtime code is imported only for its shared resource definitions (`voicelane.resources`) and
setting names (`voicelane.settings.Settings`).
"""
