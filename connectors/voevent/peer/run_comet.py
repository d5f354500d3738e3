"""Starts the Comet broker (twistd plugin) for the VTP peer test.

Comet sends iamalive every 60 s, a class constant with no command-line option; the test sets
GFT_COMET_IAMALIVE_S to a few seconds so that the heartbeat exchange happens within the test.
Everything else is Comet's own command line: python run_comet.py -n comet --receive ...
"""
import os
import sys

from comet.protocol.broadcaster import VOEventBroadcasterFactory
from twisted.scripts.twistd import run

VOEventBroadcasterFactory.IAMALIVE_INTERVAL = int(os.environ.get("GFT_COMET_IAMALIVE_S", "60"))
sys.argv = ["twistd"] + sys.argv[1:]
run()
