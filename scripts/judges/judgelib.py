"""Shared helpers for the judge scripts in this folder (stdlib only; not run directly).

Knows where .ci/run installs the tools, finds the files to judge, and reads the
role files that pipewright writes to policies/<env>/<role>.json, replacing their
${Name} placeholders with realistic dummy values so the judges see valid ARNs and ids.
"""
import json
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".ci" / ".tools"
VENV = Path(os.environ.get("JUDGES_VENV", TOOLS / "venv"))  # moto, cfn-lint, parliament, cloudsplaining (.ci/requirements.txt)
CHECKOV_VENV = Path(os.environ.get("JUDGES_CHECKOV_VENV", TOOLS / "checkov"))  # checkov alone (.ci/requirements-checkov.txt)

# Dummy values. Account 222222222222 and eu-west-2 match the project's examples.
ACCOUNT, REGION = "222222222222", "eu-west-2"
KEY_ID = "0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0"
PSEUDO = {
    "AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "pipewright-dummy",
}
# Chosen by the name's suffix, trailing digits ignored; the first match wins, so the more
# specific suffixes come first.
BY_SUFFIX = [
    ("KeyArn", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"),
    ("KeyId", KEY_ID),
    ("SubnetId", "subnet-0123456789abcdef0"),
    ("Subnet", "subnet-0123456789abcdef0"),
    ("SecurityGroupId", "sg-0123456789abcdef0"),
    ("SecurityGroup", "sg-0123456789abcdef0"),
    ("SgId", "sg-0123456789abcdef0"),
    ("VpcId", "vpc-0123456789abcdef0"),
    ("VpcEndpointId", "vpce-0123456789abcdef0"),
    ("BucketArn", "arn:aws:s3:::pipewright-dummy-bucket"),
    ("BucketName", "pipewright-dummy-bucket"),
    ("TableArn", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/pipewright-dummy"),
    ("TableName", "pipewright-dummy"),
    ("QueueArn", f"arn:aws:sqs:{REGION}:{ACCOUNT}:pipewright-dummy"),
    ("TopicArn", f"arn:aws:sns:{REGION}:{ACCOUNT}:pipewright-dummy"),
    ("FunctionArn", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:pipewright-dummy"),
    ("RoleArn", f"arn:aws:iam::{ACCOUNT}:role/pipewright-dummy"),
    ("LogGroupArn", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/pipewright/dummy"),
    ("SecretArn", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:pipewright-dummy-AbCdEf"),
    ("AccountId", ACCOUNT),
    ("Region", REGION),
]
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def die(msg, code=2):
    print(f"{Path(sys.argv[0]).name}: {msg}", file=sys.stderr)
    sys.exit(code)


def need(path, how="run `bash .ci/run` once to install it"):
    """Return str(path) if the tool exists, else stop with a clear message."""
    if not Path(path).exists():
        die(f"{path} not found; {how}")
    return str(path)


def json_files(directory):
    """The *.json files directly in directory, sorted; stop if there are none."""
    d = Path(directory)
    if not d.is_dir():
        die(f"{d} is not a directory")
    # access.json is pipewright's access model (every grant, for `iam diff`), not a role file.
    files = sorted(f for f in d.glob("*.json") if f.name != "access.json")
    if not files:
        die(f"no *.json files in {d}")
    return files


def dummy_for(name):
    if name in PSEUDO:
        return PSEUDO[name]
    base = name.rstrip("0123456789")  # PrivateSubnet2 is a Subnet
    for suffix, value in BY_SUFFIX:
        if base.endswith(suffix):
            return value
    return None


def substitute(doc, declared, problems):
    """Copy of doc with each ${Name} replaced by its dummy value. IAM policy variables
    such as ${aws:username} are left alone. Unknown or undeclared names go to problems."""
    def one(m):
        name = m.group(1)
        if ":" in name and not name.startswith("AWS::"):
            return m.group(0)  # an IAM policy variable, e.g. ${aws:PrincipalTag/team}
        if name not in declared and name not in PSEUDO:
            problems.append(f"placeholder ${{{name}}} is not declared in Placeholders")
        value = dummy_for(name)
        if value is None:
            problems.append(f"no dummy value for placeholder ${{{name}}}: add one to BY_SUFFIX in {Path(__file__).name}")
            return m.group(0)
        return value

    if isinstance(doc, str):
        return PLACEHOLDER.sub(one, doc)
    if isinstance(doc, list):
        return [substitute(x, declared, problems) for x in doc]
    if isinstance(doc, dict):
        return {k: substitute(v, declared, problems) for k, v in doc.items()}
    return doc


def role_documents(directory):
    """Yield (file name, role name, document name, IAM document or None, problems) for every
    policy document of every role file: its trust policy as "TrustPolicy" and each of "Policies"."""
    for f in json_files(directory):
        try:
            role = json.loads(f.read_text())
        except ValueError as e:
            yield f.name, "?", "-", None, [f"not valid JSON: {e}"]
            continue
        if not isinstance(role, dict) or not isinstance(role.get("Policies", {}), dict):
            yield f.name, "?", "-", None, ["expected an object with Role, TrustPolicy, Policies, Placeholders"]
            continue
        declared = role.get("Placeholders") or {}
        docs = [("TrustPolicy", role.get("TrustPolicy"))] + sorted(role.get("Policies", {}).items())
        for name, doc in docs:
            if not isinstance(doc, dict):
                yield f.name, role.get("Role", "?"), name, None, ["missing, or not a JSON object"]
                continue
            problems = []
            yield f.name, role.get("Role", "?"), name, substitute(doc, declared, problems), problems


def reexec_in(venv):
    """Run this script again under venv's Python unless it already runs there."""
    py = venv / "bin" / "python"
    if Path(sys.prefix).resolve() != venv.resolve():
        need(py)
        os.execv(str(py), [str(py), sys.argv[0], *sys.argv[1:]])


def run_isolated(cmd, **kw):
    """Run a tool from an empty temporary folder with HOME pointing there too, so no
    config file from the caller's cwd or home (.cfnlintrc, .checkov.yaml, ...) can change
    what it checks. Returns the CompletedProcess, output captured as text."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory(prefix="judge-") as tmp:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "LANG": "C.UTF-8"}
        return subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, **kw)


def pipewright_bin():
    """The pipewright CLI: $PIPEWRIGHT_BIN, else target/debug/pipewright (what .ci/run builds)."""
    return need(os.environ.get("PIPEWRIGHT_BIN") or REPO / "target" / "debug" / "pipewright",
                "build it (cargo build) or set PIPEWRIGHT_BIN")


def spec_environments(spec):
    """{env: {"region", "compliance"}} of a spec, from `pipewright check SPEC --format json`
    (pipewright's own reading of the spec: YAML 1.2, which PyYAML does not read)."""
    import subprocess
    p = subprocess.run([pipewright_bin(), "check", str(spec), "--format", "json"], capture_output=True, text=True)
    try:
        envs = json.loads(p.stdout)["environments"]
    except (ValueError, KeyError, TypeError):
        envs = None
    if p.returncode != 0 or not isinstance(envs, dict) or not envs:
        die(f"`pipewright check {spec} --format json` gave no environments (exit {p.returncode}): {p.stderr.strip()}")
    return {name: {"region": e["region"], "compliance": e.get("compliance") or []} for name, e in envs.items()}


REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$")
REPLICA_DESCRIPTION = re.compile(r"\(deploy in ([a-z0-9-]+)\)$")


def template_region(template, envs, where):
    """The region a pipewright template is deployed to: `Metadata.pipewright.region` when the
    template records it; else its environment's (`Metadata.pipewright.environment`) region in
    envs (spec_environments), except for the `replica` stack, which is deployed in the replica
    region: `pipewright check` does not print that, and synth writes it into the replica
    template's Description ("... (deploy in REGION)"). Returns (region, None) or (None, why)."""
    meta = (template.get("Metadata") or {}).get("pipewright") if isinstance(template, dict) else None
    if not isinstance(meta, dict):
        return None, f"{where}: no Metadata.pipewright (environment, stack): cannot tell its region"
    region = meta.get("region")
    if not region:
        env = envs.get(meta.get("environment"))
        if env is None:
            return None, f"{where}: environment {meta.get('environment')!r} is not in the spec ({', '.join(sorted(envs))})"
        region = env["region"]
        if meta.get("stack") == "replica":
            m = REPLICA_DESCRIPTION.search(str(template.get("Description") or ""))
            if not m:
                return None, f"{where}: a replica stack whose Description names no '(deploy in REGION)'"
            region = m.group(1)
            if region == env["region"]:
                return None, f"{where}: the replica stack says it deploys in {region}, its environment's own region"
    if not REGION.match(str(region)):
        return None, f"{where}: {region!r} is not a region name"
    return str(region), None
