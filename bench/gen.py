#!/usr/bin/env python3
"""Benchmark inputs for redis-sentinel-fn (standard library only).

    gen.py rl SPEC [N]          ResourceList: SPEC as functionConfig, and N
                                foreign items (ConfigMaps and Deployments of
                                realistic size, with comments and kpt/kustomize
                                annotations) with SPEC among them, as kpt
                                passes a package
    gen.py rerender SPEC OUT    ResourceList: the items of an earlier KRM
                                output OUT (its Secrets included) + SPEC as
                                functionConfig: the kpt re-render input
    gen.py alg SPEC ALG         SPEC with tls.keyAlgorithm ALG
    gen.py specs DIR N          N distinct spec files in DIR

Everything goes to stdout except `specs`. Output is deterministic.
"""

import os
import sys


def indent(text, prefix):
    return "".join(prefix + line if line.strip() else line for line in text.splitlines(True))


def strip_comments(text):
    return "".join(l for l in text.splitlines(True) if not l.lstrip().startswith("#"))


def configmap(i):
    ns = f"team-{i % 37}"
    data = "".join(
        f"    setting_{k}: \"value-{i}-{k} with some words to make it longer\"\n" for k in range(8)
    )
    return f"""\
# ConfigMap {i}: settings of app-{i}
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: app-{i}-config
    namespace: {ns}
    labels:
      app.kubernetes.io/name: app-{i}
      app.kubernetes.io/part-of: shop
      team: team-{i % 37}
    annotations:
      config.kubernetes.io/index: '0'
      config.kubernetes.io/path: 'apps/app-{i}/configmap.yaml'
      internal.config.kubernetes.io/path: 'apps/app-{i}/configmap.yaml'
      internal.config.kubernetes.io/index: '0'
      description: "Settings for app-{i}; owned by team-{i % 37}" # trailing comment
  data:
{data}    app.properties: |
      # properties file of app-{i}
      server.port=8080
      server.name=app-{i}
      feature.flags=alpha,beta,gamma
"""


def deployment(i):
    ns = f"team-{i % 37}"
    return f"""\
# Deployment {i}
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: app-{i}
    namespace: {ns}
    labels:
      app.kubernetes.io/name: app-{i}
      app.kubernetes.io/part-of: shop
    annotations:
      config.kubernetes.io/index: '1'
      config.kubernetes.io/path: 'apps/app-{i}/deployment.yaml'
      internal.config.kubernetes.io/path: 'apps/app-{i}/deployment.yaml'
      internal.config.kubernetes.io/index: '1'
      deployment.kubernetes.io/revision: "{i % 9 + 1}"
  spec:
    replicas: {i % 5 + 1}
    selector:
      matchLabels:
        app.kubernetes.io/name: app-{i}
    template:
      metadata:
        labels:
          app.kubernetes.io/name: app-{i}
        annotations:
          prometheus.io/scrape: "true"
          prometheus.io/port: "9090"
      spec:
        # the app and its sidecar
        containers:
        - name: app
          image: registry.example.com/shop/app-{i}:1.{i % 20}.{i % 7}
          args: ["--port=8080", "--log-level=info", "--config=/etc/app/app.properties"]
          ports:
          - name: http
            containerPort: 8080
          env:
          - name: APP_NAME
            value: app-{i}
          - name: POD_NAMESPACE
            valueFrom:
              fieldRef:
                fieldPath: metadata.namespace
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{memory: 256Mi}}
          readinessProbe:
            httpGet: {{path: /healthz, port: http}}
            periodSeconds: 10
          volumeMounts:
          - name: config
            mountPath: /etc/app
        - name: metrics
          image: registry.example.com/shop/exporter:2.3.1
          ports:
          - name: metrics
            containerPort: 9090
        volumes:
        - name: config
          configMap:
            name: app-{i}-config
"""


def resource_list(spec_text, n):
    spec = strip_comments(spec_text)
    out = ["apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"]
    if n == 0:
        out.append("items: []\n")
    else:
        out.append("items:\n")
        for i in range(n):
            if i == n // 2:
                # the spec file of the package, as kpt passes it
                out.append("- " + indent(spec, "  ")[2:])
            out.append(configmap(i) if i % 2 == 0 else deployment(i))
    out.append("functionConfig:\n")
    out.append(indent(spec, "  "))
    return "".join(out)


def rerender(spec_text, output_text):
    """Top-level keys of the function's output are at column 0; keep the
    items, drop the results, add the functionConfig."""
    keep, skipping = [], False
    for line in output_text.splitlines(True):
        if line and not line[0].isspace() and not line.startswith("-"):
            skipping = line.startswith("results:") or line.startswith("functionConfig:")
        if not skipping:
            keep.append(line)
    return "".join(keep) + "functionConfig:\n" + indent(strip_comments(spec_text), "  ")


def with_algorithm(spec_text, alg):
    spec = strip_comments(spec_text).rstrip("\n") + "\n"
    if "\n  tls:" in spec:
        raise SystemExit("gen.py alg: the spec already has spec.tls; give one without")
    if "\nspec:\n" in spec:
        return spec.replace("\nspec:\n", f"\nspec:\n  tls:\n    keyAlgorithm: {alg}\n", 1)
    return spec + f"spec:\n  tls:\n    keyAlgorithm: {alg}\n"


def write_specs(directory, n):
    os.makedirs(directory, exist_ok=True)
    for i in range(n):
        with open(os.path.join(directory, f"cache-{i:03}.yaml"), "w") as f:
            f.write(
                "apiVersion: fn.redis-sentinel.dev/v1alpha1\nkind: RedisSentinel\n"
                f"metadata:\n  name: cache-{i}\n  namespace: team-{i % 10}\n"
            )


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    cmd = argv[1]
    if cmd == "specs":
        write_specs(argv[2], int(argv[3]))
        return
    with open(argv[2]) as f:
        spec = f.read()
    if cmd == "rl":
        text = resource_list(spec, int(argv[3]) if len(argv) > 3 else 0)
    elif cmd == "rerender":
        with open(argv[3]) as f:
            text = rerender(spec, f.read())
    elif cmd == "alg":
        text = with_algorithm(spec, argv[3])
    else:
        raise SystemExit(__doc__)
    sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv)
