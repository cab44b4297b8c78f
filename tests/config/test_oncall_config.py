"""check-config on the on-call keys: secrets only from the environment, required keys per output,
quiet hours, roster routes naming real outputs — each problem with its file, line and key."""

from __future__ import annotations

ONCALL = """\
desk: {operator: camille}
topics: [{id: brioche, keywords: [brioche]}]
team:
  roster:
    - id: hugo
      name: Hugo
      role: comms
      routes:
        mail: hugo-at-example
        pagr: ""
  escalation:
    - [comms]
alerts:
  - type: email
    id: mail
    host: smtp.example.com
    password: hunter2
  - type: pagerduty
    routing_key: ${PD_KEY}
    quiet_hours: 25:00-07:00
"""


def test_oncall_keys_are_checked_with_file_line_and_key(problems) -> None:
    assert problems(ONCALL, env={"PD_KEY": "k"}) == [
        "site.yaml:14: alerts[0].sender: an email alert needs sender",
        "site.yaml:17: alerts[0].password: a secret comes from the environment: write ${PASSWORD_VAR}, "
        "not the value",
        "site.yaml:20: alerts[1].quiet_hours: expected HH:MM-HH:MM, like 22:00-07:00 "
        "('25:00' is not a time of day)",
    ]


def test_routes_must_name_an_output_that_can_page(problems) -> None:
    good = ONCALL.replace("hunter2", "${PD_KEY}\n    sender: desk@example.com").replace("25:00", "22:00")
    assert problems(good, env={"PD_KEY": "k"}) == [
        "site.yaml:9: team.roster[0].routes.mail: expected an e-mail address, got 'hugo-at-example'",
        "site.yaml:10: team.roster[0].routes.pagr: no output 'pagr' in alerts (outputs that can page: "
        "mail, pagerduty); did you mean 'pagerduty'?",
    ]
    fixed = good.replace("hugo-at-example", "hugo@example.com").replace("pagr", "pagerduty")
    assert problems(fixed + "sources: [{type: demo, id: demo}]\n", env={"PD_KEY": "k"}) == []
