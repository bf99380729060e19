"""One thin module per Lambda function (voicelane.resources.FUNCTIONS): parse the event, call
one service, shape the reply. The handler of `functions/<module>.py` is `handler`."""
