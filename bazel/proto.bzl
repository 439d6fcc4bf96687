"""cc_grpc_proto: protoc + grpc_cpp_plugin from Debian, wrapped as a cc_library.

Proto import paths: the workspace root, googleapis' annotations (grpc-gateway's third_party) and
protobuf's well-known types (/usr/include)."""

_GOOGLEAPIS = "/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis"

def cc_grpc_proto(name, srcs, deps = [], grpc = True, visibility = None):
    outs = []
    for s in srcs:
        base = s[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc"]
        if grpc:
            outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
    pkg = native.package_name()
    proto_paths = " ".join(["%s/%s" % (pkg, s) if pkg else s for s in srcs])
    grpc_flags = "--grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin" if grpc else ""
    native.genrule(
        name = name + "_gen",
        srcs = srcs + [d + "_srcs" for d in deps],
        outs = outs,
        cmd = ("/usr/bin/protoc -I. -I$(GENDIR) -I%s -I/usr/include --cpp_out=$(GENDIR) %s %s" %
               (_GOOGLEAPIS, grpc_flags, proto_paths)),
    )
    native.filegroup(name = name + "_srcs", srcs = srcs + [d + "_srcs" for d in deps], visibility = visibility)
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        deps = deps + ["//third_party/googleapis", "@system//:grpc", "@system//:protobuf"],
        visibility = visibility,
    )
