#!/usr/bin/env bash
# scripts/terraform.sh ARGS...: runs terraform offline, with the providers this machine can have.
#
# No Terraform registry is reachable here. hashicorp/azurerm is built from source by tools.sh
# (`scripts/tools.sh path terraform-provider-azurerm`) and served from a filesystem mirror under the
# tool cache, as version $AZURERM_MIRROR_VERSION; every other provider address is refused rather
# than fetched. The CLI config lives beside the mirror, never in the clone, and TF_DATA_DIR keeps
# each folder's .terraform under bin/terraform/ (git-ignored).
#
#   scripts/terraform.sh -chdir=terraform/examples/azure-basic init -backend=false
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The folder name is ours to choose: the binary is a commit after azurerm 5.2.0 (tools.sh), and the
# Azure module's constraint (">= 4.77.0") admits it.
AZURERM_MIRROR_VERSION=5.2.0

provider=$("$ROOT/scripts/tools.sh" path terraform-provider-azurerm)
base=$(dirname "$(dirname "$provider")")
mirror=$base/terraform-mirror
dir=$mirror/registry.terraform.io/hashicorp/azurerm/$AZURERM_MIRROR_VERSION/linux_amd64
if [[ ! -x $dir/terraform-provider-azurerm_v$AZURERM_MIRROR_VERSION ]]; then
	mkdir -p "$dir"
	# A hard link: terraform copies (or links) the unpacked folder into .terraform, and a 329 MB copy
	# per init would be waste.
	ln -f "$provider" "$dir/terraform-provider-azurerm_v$AZURERM_MIRROR_VERSION" 2>/dev/null ||
		cp "$provider" "$dir/terraform-provider-azurerm_v$AZURERM_MIRROR_VERSION"
fi
rc=$base/terraform.tfrc
cat >"$rc.tmp" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
RC
mv "$rc.tmp" "$rc"

# TF_DATA_DIR per working folder, named after it, so that inits of two folders don't share state.
chdir=.
for a in "$@"; do [[ $a == -chdir=* ]] && chdir=${a#-chdir=}; done
key=$(realpath -m --relative-to="$ROOT" "$chdir" | tr '/' '_')
export TF_CLI_CONFIG_FILE=$rc
export TF_DATA_DIR=$ROOT/bin/terraform/$key
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
exec terraform "$@"
