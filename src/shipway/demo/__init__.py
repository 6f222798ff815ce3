"""The ``shipway demo`` scenario: a scripted session over a real server, as a user would
run it (``scenario``), with its contract act (``contracts``), its monitoring act
(``monitoring``) and the synthetic churn data both acts and the tests use (``churn``)."""
