package govgen_test

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/govkit/govern/internal/govgen"
	governv1 "github.com/govkit/govern/proto/govern/v1"
)

// ExampleRunRequest generates in process, as govscaffold does, from a
// request built by hand: one method with a gold tier and a keyed
// idempotency policy.
func ExampleRunRequest() {
	opts := &descriptorpb.MethodOptions{}
	proto.SetExtension(opts, governv1.E_Method, &governv1.Policy{
		Tier:        governv1.Tier_TIER_GOLD.Enum(),
		Timeout:     proto.String("800ms"),
		Idempotency: &governv1.Idempotency{KeyFields: []string{"client_id"}},
	})
	file := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("shop/v1/shop.proto"),
		Package:    proto.String("shop.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"govern/v1/govern.proto"},
		Options:    &descriptorpb.FileOptions{GoPackage: proto.String("example.com/shop/v1;shopv1")},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("BuyRequest"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name: proto.String("client_id"), JsonName: proto.String("clientId"), Number: proto.Int32(1),
				Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			}},
		}},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("Shop"),
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name: proto.String("Buy"), InputType: proto.String(".shop.v1.BuyRequest"), OutputType: proto.String(".shop.v1.BuyRequest"),
				Options: opts,
			}},
		}},
	}
	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate: []string{"shop/v1/shop.proto"},
		Parameter:      proto.String("paths=source_relative"),
		ProtoFile: []*descriptorpb.FileDescriptorProto{
			protodesc.ToFileDescriptorProto(descriptorpb.File_google_protobuf_descriptor_proto),
			protodesc.ToFileDescriptorProto(governv1.File_govern_v1_govern_proto),
			file,
		},
	}
	resp, err := govgen.RunRequest(req)
	if err != nil || resp.Error != nil {
		fmt.Println(err, resp.GetError())
		return
	}
	for _, f := range resp.File {
		fmt.Println(f.GetName())
		for _, line := range strings.Split(f.GetContent(), "\n") {
			if strings.HasPrefix(line, "func ") || strings.HasPrefix(line, "var ") || strings.HasPrefix(line, "const ") {
				fmt.Println(" ", strings.TrimSpace(strings.TrimSuffix(line, "{")))
			}
		}
	}
	// Output:
	// shop/v1/shop_govern.pb.go
	//   var ShopPolicy = policy.Table
	//   var _Shop_Buy_policy = &policy.Method
	//   func Shop_BuyIdempotencyKey(req *BuyRequest) (key string, ok bool)
	//   func _Shop_Buy_key(req any) (string, bool)
	//   const ShopServiceConfig = `{"methodConfig":[{"name":[{"service":"shop.v1.Shop","method":"Buy"}],"timeout":"0.800s"}]}`
	//   func ShopInterceptors(opts ...governance.Option) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor, error)
	//   var ShopRoutes []policy.Route
}
