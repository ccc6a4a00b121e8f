#!/usr/bin/env bash
# scripts/terraform-check.sh: what Terraform itself can check here, offline, on every module and
# example under terraform/ (make terraform-check, part of make test):
#   1. terraform fmt -check -recursive;
#   2. tflint with its bundled terraform ruleset (.tflint.hcl);
#   3. for Azure, against the real azurerm provider (built by tools.sh, served from a mirror):
#      init -backend=false and validate on the module and every example, and `terraform test`
#      (mock_provider) on the module.
# AWS and Google providers can't be had here: their blocks are checked against the providers'
# published schemas by the Go tests in terraform/ (go test ./terraform/).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export TF_CLI_CONFIG_FILE=/dev/null # the machine's points at a missing file; fmt needs none

echo "terraform fmt -check -recursive terraform"
terraform fmt -check -recursive -diff terraform

tflint=$(scripts/tools.sh path tflint)
dirs=$(find terraform -name '*.tf' -not -path '*/.terraform/*' -printf '%h\n' | sort -u)
for d in $dirs; do
	echo "tflint $d"
	"$tflint" --chdir="$d" --config="$ROOT/.tflint.hcl" --format=compact
done

for d in $dirs; do
	case $d in
	terraform/modules/azure | terraform/examples/azure-*) ;;
	*) continue ;;
	esac
	echo "terraform init + validate $d (azurerm from the local mirror)"
	scripts/terraform.sh -chdir="$d" init -backend=false -input=false >/dev/null
	scripts/terraform.sh -chdir="$d" validate -no-color
	if compgen -G "$d/tests/*.tftest.hcl" >/dev/null; then
		echo "terraform test $d"
		scripts/terraform.sh -chdir="$d" test -no-color
	fi
done
