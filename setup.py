"""The one thing pyproject.toml cannot say: the zoo and its block library ship inside the
package. The repository keeps them in specs/ and specs/lib/, where users see them; a build maps
that folder onto the package `netdsl.zoo` (package data only), so a wheel carries
netdsl/zoo/*.net and netdsl/zoo/lib/*.net and `netdsl.bundled` finds them wherever netdsl is
installed. Everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["netdsl", "netdsl.*"]), "netdsl.zoo", "netdsl.zoo.lib"],
    package_dir={"netdsl.zoo": "specs"},
)
