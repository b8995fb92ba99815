#version 450
// Depth-compare sampling (issue 7): the reference depth rises along the vertex colour's z;
// the sampler's compare op and LINEAR filter give the filtered pass fraction.
layout(location = 0) in vec4 v_uv;
layout(location = 0) out vec4 frag_color;
layout(set = 0, binding = 0) uniform sampler2DShadow tex;
void main() {
    float lit = texture(tex, vec3(v_uv.xy, v_uv.z));
    frag_color = vec4(lit, lit, lit, 1.0);
}
