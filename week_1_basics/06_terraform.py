# %% [markdown]
# # 06 · Terraform: the course's cloud resources as code
#
# **What you will learn**
# - providers, resources, variables (with validation), outputs and state;
# - the `init` / `plan` / `apply` / `destroy` cycle;
# - the course's GCS bucket (versioning, lifecycle rule) and BigQuery dataset, and the S3 alternative.
#
# **What you need running:** nothing. Without a cloud account this notebook reads and checks the configuration; the
# commands to create the resources on your own GCP project are in the text.

# %% [markdown]
# ## Providers and resources
#
# A **provider** is the plugin that talks to one platform's API (`hashicorp/google`). A **resource** is one thing it
# manages: a bucket, a dataset. Terraform compares the resources in the `.tf` files with its **state** (what it created
# last time) and the real world, and plans the difference.

# %%
import re
import shutil
import subprocess

import hcl2
import pandas as pd

from zoomcamp.settings import project_root

gcp = project_root() / "week_1_basics" / "terraform" / "gcp"
print((gcp / "main.tf").read_text())


# %% [markdown]
# Parsed, the configuration is data a test can check (the course's tests do: `tests/weeks/test_week1_infra.py`):

# %%
def unquote(v):
    return v.strip('"') if isinstance(v, str) else v

def blocks(kind):
    found = {}
    for path in sorted(gcp.glob("*.tf")):
        with open(path) as f:
            for block in hcl2.load(f).get(kind, []):
                for first, body in block.items():
                    found[unquote(first)] = body
    return found

resources = [(rtype, unquote(name)) for rtype, body in blocks("resource").items() for name in body]
assert ("google_storage_bucket", "data_lake") in resources and ("google_bigquery_dataset", "trips") in resources
pd.DataFrame(resources, columns=["resource type", "name"])

# %% [markdown]
# ## Variables, validation, outputs
#
# Nothing project-specific is written in the files: the project id is a **variable** without a default, validated
# before anything is created. Outputs print what was made (the bucket name goes into `zoomcamp.toml`).

# %%
variables = blocks("variable")
text = "\n".join(p.read_text() for p in gcp.glob("*.tf"))
assert set(re.findall(r"var\.(\w+)", text)) == set(variables)  # every variable declared is used, and vice versa
assert "default" not in variables["project"]
pd.DataFrame([{"variable": name, "default": unquote(body.get("default", "(required)")),
               "validated": "validation" in body} for name, body in variables.items()])

# %% [markdown]
# ## Formatting
#
# `terraform fmt` is the ecosystem's formatter; `-check` fails on unformatted files.

# %%
if shutil.which("terraform"):
    fmt = subprocess.run(["terraform", "fmt", "-check", "-recursive", str(gcp.parent)], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout
    print("terraform fmt: all files formatted")
else:
    print("terraform is not installed here: https://developer.hashicorp.com/terraform/install")

# %% [markdown]
# ## Plan, apply, destroy — on your own project
#
# `terraform init` downloads the provider (it needs the internet: the course's offline CI does not run it), then:
#
# ```bash
# cd week_1_basics/terraform/gcp
# gcloud auth application-default login           # credentials for Terraform and the course; no key file
# terraform init
# terraform plan  -var project=YOUR_PROJECT_ID    # what would change
# terraform apply -var project=YOUR_PROJECT_ID    # create the bucket and the dataset
# terraform output bucket                         # put it in zoomcamp.toml: [gcs] bucket = "..."
# terraform destroy -var project=YOUR_PROJECT_ID  # remove everything again
# ```
#
# The state (`terraform.tfstate`) records what was created; `.gitignore` keeps it (and `.terraform/`) out of git.
# For AWS, `week_1_basics/terraform/aws/` creates the S3 equivalent (versioning + lifecycle).
#
# ## Summary
#
# - Providers talk to APIs; resources describe what should exist; state remembers what does.
# - Variables with validation keep project ids out of the code; outputs hand results to the next tool.
# - `plan` shows the difference, `apply` makes it, `destroy` undoes it.
#
# **Next:** week 2 — [ingestion into a data lake](../week_2_ingestion/README.md).

# %%
from zoomcamp import course

course.record("week_1_basics/06_terraform.ipynb")  # this notebook ran to the end
