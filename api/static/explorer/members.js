// The consortium's members: names for the addresses the API answers with.

import { api } from "./api.js";
import { state } from "./state.js";

export async function loadMembers() {
  try {
    const members = await api("/v1/members");
    state.memberList = members;
    state.members = new Map(members.map((member) => [member.address.toLowerCase(), member.name]));
  } catch (error) {
    if (error.status === 401) throw error;
    state.memberList = [];
    state.members = new Map();
  }
  if (state.me) state.members.set(state.me.address.toLowerCase(), state.me.name);
}

export function forgetMembers() {
  state.members = new Map();
  state.memberList = [];
}

export function memberName(address) {
  if (!address) return "";
  return state.members.get(address.toLowerCase()) || "";
}
