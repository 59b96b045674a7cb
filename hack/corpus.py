#!/usr/bin/env python3
"""Rebuilds testdata/corpus/<project>.yaml: the RBAC documents (Role, ClusterRole,
RoleBinding, ClusterRoleBinding) of public projects' published manifests, verbatim,
under a header naming origin, commit and licence.

Usage: hack/corpus.py MIRRORS_DIR  (MIRRORS_DIR holds bare clones named owner+repo/repo)
Only maintainers refreshing the corpus run it; tests read the committed files.
"""
import os
import re
import subprocess
import sys

RBAC = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}

# project file: (owner/repo, commit, licence, [paths])
PROJECTS = {
    "kube-state-metrics": ("kubernetes/kube-state-metrics", "c92fe0c5ce02d3b52abf54490e00db6c706f2ba5", "Apache-2.0",
                           ["examples/standard/cluster-role.yaml", "examples/standard/cluster-role-binding.yaml"]),
    "prometheus-operator": ("prometheus-operator/prometheus-operator", "6adcebc5076c34f4f55f8f5f7b1e528929373ac7", "Apache-2.0",
                            ["example/rbac/prometheus-operator/prometheus-operator-cluster-role.yaml",
                             "example/rbac/prometheus-operator/prometheus-operator-cluster-role-binding.yaml",
                             "example/rbac/prometheus-operator-crd/prometheus-operator-crd-cluster-roles.yaml"]),
    "external-dns": ("kubernetes-sigs/external-dns", "2bf1bf8af2b70f23579f9147c1f7e9394f7f83d5", "Apache-2.0",
                     ["kustomize/external-dns-clusterrole.yaml", "kustomize/external-dns-clusterrolebinding.yaml"]),
    "ingress-nginx": ("kubernetes/ingress-nginx", "dbb11b92ddb77bee9c35e462479129354c84f939", "Apache-2.0",
                      ["deploy/static/provider/cloud/deploy.yaml"]),
    "argo-cd": ("argoproj/argo-cd", "37ee0097cf851bc2dd7665fc081bbce61a7e836e", "Apache-2.0",
                ["manifests/install.yaml"]),
    "metrics-server": ("kubernetes-sigs/metrics-server", "5ed5d3a2cf940a8c7541cfbac19af822f4c97844", "Apache-2.0",
                       ["manifests/base/rbac.yaml"]),
}


def documents(text):
    for doc in re.split(r"(?m)^---\s*$", text):
        m = re.search(r"(?m)^kind:\s*(\S+)\s*$", doc)
        if m and m.group(1) in RBAC:
            yield doc.strip("\n")


def main(mirrors):
    out_dir = os.path.join(os.path.dirname(__file__), "..", "testdata", "corpus")
    for name, (repo, commit, licence, paths) in PROJECTS.items():
        git = os.path.join(mirrors, repo.replace("/", "+"), "repo")
        docs = []
        for p in paths:
            text = subprocess.run(["git", "-C", git, "show", f"{commit}:{p}"], check=True, capture_output=True, text=True).stdout
            docs.extend(documents(text))
        header = "\n".join([
            f"# RBAC of {repo}, verbatim: the Role, ClusterRole, RoleBinding and ClusterRoleBinding",
            "# documents of the files below, other kinds left out.",
            f"# origin: https://github.com/{repo}",
            f"# commit: {commit}",
            f"# files: {', '.join(paths)}",
            f"# licence: {licence} (the project's LICENSE)",
            "# rebuilt by hack/corpus.py",
        ])
        with open(os.path.join(out_dir, name + ".yaml"), "w") as f:
            f.write(header + "\n---\n" + "\n---\n".join(docs) + "\n")
        print(name, len(docs), "documents")


if __name__ == "__main__":
    main(sys.argv[1])
