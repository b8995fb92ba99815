#version 450
#extension GL_EXT_demote_to_helper_invocation : require
layout(depth_greater) out float gl_FragDepth;
layout(location = 0) in float v;
layout(location = 0) out vec4 o;
void main() {
    if (v < 0.0) demote;
    o = vec4(helperInvocationEXT() ? 1.0 : 0.0);
    gl_FragDepth = v;
}
